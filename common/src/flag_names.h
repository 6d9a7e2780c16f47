#pragma once

#include <string>
#include <vector>

namespace newsroom {

// Abseil names flags after C++ identifiers (`--key_prefix`), while people type dashes
// (`--key-prefix`, as Kubernetes manifests and most tools do). Returns argv with dashes inside flag
// names turned into underscores, so both services accept both spellings; values and everything
// after a bare `--` are untouched.
[[nodiscard]] std::vector<std::string> NormalizeFlagNames(int argc, char** argv);

}  // namespace newsroom
