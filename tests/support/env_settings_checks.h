#pragma once

// Checks of a binary's environment table (common/src/env_flags.h) against the flags it defines.

#include <string>
#include <vector>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "common/src/env_flags.h"

namespace newsroom::testing {

// Returns the names of the flags defined in files whose path contains `source_dir` (e.g.
// "content-service/src/") that `settings` gives no variable.
inline std::vector<std::string> FlagsWithoutEnvVar(const EnvSettings& settings,
                                                   absl::string_view source_dir) {
  std::vector<std::string> missing;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::StrContains(flag->Filename(), source_dir)) continue;
    bool listed = false;
    for (const EnvFlag& entry : settings.flags) listed = listed || name == entry.flag;
    if (!listed) missing.emplace_back(name);
  }
  return missing;
}

}  // namespace newsroom::testing
