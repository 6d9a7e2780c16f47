#pragma once

// analytics-service's flags, and the environment variable that sets each of them.

#include "analytics-service/src/config.h"
#include "common/src/env_flags.h"

namespace newsroom::analytics {

// analytics-service's environment: a variable for every flag (unknown ANALYTICS_* ones are
// refused), plus the secrets that are never flags. main() applies it with
// newsroom::ApplyEnvironment before parsing argv.
[[nodiscard]] const EnvSettings& AnalyticsEnvSettings();

// The flags as parsed (from the environment, then argv), with the env-only secrets, for
// ParseConfig.
[[nodiscard]] RawConfig RawConfigFromFlags();

}  // namespace newsroom::analytics
