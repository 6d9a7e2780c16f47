#pragma once

#include <string>

namespace newsroom {

// Returns the value of environment variable `name`, or `fallback` when it is unset or empty.
// For the CLI and for secrets that are never flags; the services' flags take their variables
// through common/src/env_flags.h.
[[nodiscard]] std::string EnvOr(const char* name, const std::string& fallback);

}  // namespace newsroom
