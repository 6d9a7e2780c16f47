#pragma once

#include <string>

namespace newsroom {

// Returns the value of environment variable `name`, or `fallback` when it is unset or empty.
// Flags use it for their defaults, so a flag given on the command line wins over its env var.
[[nodiscard]] std::string EnvOr(const char* name, const std::string& fallback);

}  // namespace newsroom
