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

// Checks a gRPC channel target: `HOST:PORT`, `dns:///HOST:PORT` (also `dns:HOST:PORT` and
// `dns://AUTHORITY/HOST:PORT`), or `ipv4:`/`ipv6:` followed by comma-separated `HOST:PORT`s.
// The port must be given (the dns resolver would otherwise assume 443). Returns INVALID_ARGUMENT
// naming `field` otherwise.
[[nodiscard]] absl::Status CheckChannelTarget(absl::string_view target, absl::string_view field);

}  // namespace newsroom
