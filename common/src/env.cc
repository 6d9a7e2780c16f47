#include "common/src/env.h"

#include <cstdlib>

namespace newsroom {

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return value;
}

}  // namespace newsroom
