#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace newsroom {

struct HostPort {
  std::string host;  // without brackets, e.g. "::1"
  int port = 0;
};

// Parses `HOST:PORT` or `[IPV6]:PORT` (port 0 to 65535), or returns INVALID_ARGUMENT naming
// `field`.
[[nodiscard]] absl::StatusOr<HostPort> ParseHostPort(absl::string_view address,
                                                     absl::string_view field);

}  // namespace newsroom
