#include "common/src/host_port.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace newsroom {

absl::StatusOr<HostPort> ParseHostPort(absl::string_view address, absl::string_view field) {
  const auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": expected HOST:PORT or [IPV6]:PORT, got \"", address, "\""));
  };
  absl::string_view host;
  absl::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    const std::size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return invalid();
    }
    host = address.substr(1, close - 1);
    port_text = address.substr(close + 2);
  } else {
    const std::size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return invalid();
    host = address.substr(0, colon);
    port_text = address.substr(colon + 1);
    if (host.find(':') != absl::string_view::npos) return invalid();  // bare IPv6 needs brackets
  }
  int port = 0;
  if (host.empty() || !absl::SimpleAtoi(port_text, &port) || port < 0 || port > 65535) {
    return invalid();
  }
  return HostPort{std::string(host), port};
}

absl::Status CheckChannelTarget(absl::string_view target, absl::string_view field) {
  const auto invalid = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": expected HOST:PORT, dns:///HOST:PORT or ipv4:HOST:PORT[,...], got \"", target,
        "\""));
  };
  absl::string_view rest = target;
  if (absl::ConsumePrefix(&rest, "dns:")) {
    // dns://AUTHORITY/ names the DNS server to ask; dns:/// (empty authority) the system's.
    if (absl::ConsumePrefix(&rest, "//")) {
      const std::size_t slash = rest.find('/');
      if (slash == absl::string_view::npos) return invalid();
      rest = rest.substr(slash + 1);
    }
    return ParseHostPort(rest, field).ok() ? absl::OkStatus() : invalid();
  }
  if (absl::ConsumePrefix(&rest, "ipv4:") || absl::ConsumePrefix(&rest, "ipv6:")) {
    for (absl::string_view address : absl::StrSplit(rest, ',')) {
      if (!ParseHostPort(address, field).ok()) return invalid();
    }
    return absl::OkStatus();
  }
  return ParseHostPort(target, field).ok() ? absl::OkStatus() : invalid();
}

}  // namespace newsroom
