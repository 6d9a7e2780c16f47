// ListTopArticles page tokens (analytics-service/src/page_token.h). The first four bytes are the
// period, the rest is the token: a token that decodes carries an offset within bounds that
// re-encodes to the same offset, and is refused for any other period.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "analytics-service/src/page_token.h"
#include "fuzz/fuzz_check.h"

namespace {

namespace analytics = ::newsroom::analytics;
namespace analytics_v1 = ::newsroom::analytics::v1;

void CheckOffset(analytics_v1::Period period, std::int64_t offset) {
  const std::string token = analytics::EncodePageToken(period, offset);
  const absl::StatusOr<std::int64_t> decoded = analytics::DecodePageToken(token, period);
  FUZZ_CHECK(decoded.ok() && *decoded == offset);
  const auto other = static_cast<analytics_v1::Period>(static_cast<std::int32_t>(
      static_cast<std::uint32_t>(period) + 1));  // wraps at INT32_MAX instead of overflowing
  FUZZ_CHECK(!analytics::DecodePageToken(token, other).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  std::int32_t raw_period;
  std::memcpy(&raw_period, data, sizeof raw_period);
  // Proto3 enums are open: a client may send any int32.
  const auto period = static_cast<analytics_v1::Period>(raw_period);
  const absl::string_view token(reinterpret_cast<const char*>(data) + 4, size - 4);

  const absl::StatusOr<std::int64_t> offset = analytics::DecodePageToken(token, period);
  if (offset.ok()) {
    FUZZ_CHECK(*offset >= 0 && *offset <= analytics::kMaxPageOffset);
    CheckOffset(period, *offset);
  } else {
    FUZZ_CHECK(offset.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(offset.status().message().rfind("page_token: ", 0) == 0);
  }
  // Any offset in bounds round-trips, the bounds included.
  if (token.size() >= 8) {
    std::uint64_t bits;
    std::memcpy(&bits, token.data(), sizeof bits);
    CheckOffset(period, static_cast<std::int64_t>(
                            bits % static_cast<std::uint64_t>(analytics::kMaxPageOffset + 1)));
  }
  return 0;
}
