#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "newsroom/analytics/v1/analytics_service.pb.h"

namespace newsroom::analytics {

// Largest offset a token may carry; far past any real listing, and small enough that
// offset + page size never overflows.
inline constexpr int64_t kMaxPageOffset = int64_t{1} << 40;

// ListTopArticles page tokens: unpadded base64url of "v1:{period}:{offset}". Opaque to callers; the
// version lets the format change later without misreading old tokens.
[[nodiscard]] std::string EncodePageToken(v1::Period period, int64_t offset);

// Returns the offset in `token`. INVALID_ARGUMENT naming `page_token` when the token is malformed
// or was issued for a period other than `period`.
[[nodiscard]] absl::StatusOr<int64_t> DecodePageToken(absl::string_view token, v1::Period period);

}  // namespace newsroom::analytics
