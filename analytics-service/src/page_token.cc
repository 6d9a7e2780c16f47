#include "analytics-service/src/page_token.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace newsroom::analytics {
namespace {

constexpr absl::string_view kVersion = "v1";

absl::Status Malformed() { return absl::InvalidArgumentError("page_token: is malformed"); }

}  // namespace

std::string EncodePageToken(v1::Period period, int64_t offset) {
  return absl::WebSafeBase64Escape(
      absl::StrCat(kVersion, ":", static_cast<int>(period), ":", offset));
}

absl::StatusOr<int64_t> DecodePageToken(absl::string_view token, v1::Period period) {
  std::string text;
  if (!absl::WebSafeBase64Unescape(token, &text)) return Malformed();
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  int token_period = 0;
  int64_t offset = 0;
  if (parts.size() != 3 || parts[0] != kVersion || !absl::SimpleAtoi(parts[1], &token_period) ||
      !absl::SimpleAtoi(parts[2], &offset) || offset < 0 || offset > kMaxPageOffset) {
    return Malformed();
  }
  if (token_period != static_cast<int>(period)) {
    return absl::InvalidArgumentError("page_token: was issued for another period");
  }
  return offset;
}

}  // namespace newsroom::analytics
