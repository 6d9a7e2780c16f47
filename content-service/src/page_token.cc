#include "content-service/src/page_token.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/src/validation.h"

namespace newsroom::content {
namespace {

constexpr absl::string_view kVersion = "1";
// A token holds a version, two integers, an article id and a tag: far below this.
constexpr std::size_t kMaxTokenBytes = 512;

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("page_token: ", why));
}

}  // namespace

std::string EncodePageToken(const ListCursor& cursor, absl::string_view tag) {
  return absl::WebSafeBase64Escape(absl::StrCat(kVersion, "|", cursor.publish_time.seconds(), "|",
                                                cursor.publish_time.nanos(), "|", cursor.article_id,
                                                "|", tag));
}

absl::StatusOr<ListCursor> DecodePageToken(absl::string_view token, absl::string_view tag) {
  std::string payload;
  if (token.size() > kMaxTokenBytes || !absl::WebSafeBase64Unescape(token, &payload)) {
    return Invalid("is not a token issued by ListArticles");
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(payload, '|');
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
  if (parts.size() != 5 || parts[0] != kVersion || !absl::SimpleAtoi(parts[1], &seconds) ||
      !absl::SimpleAtoi(parts[2], &nanos) || nanos < 0 || nanos > 999999999 ||
      !IsValidArticleId(parts[3])) {
    return Invalid("is not a token issued by ListArticles");
  }
  if (parts[4] != tag) return Invalid("was issued for a listing with a different tag");
  ListCursor cursor;
  cursor.publish_time.set_seconds(seconds);
  cursor.publish_time.set_nanos(nanos);
  cursor.article_id = std::string(parts[3]);
  return cursor;
}

}  // namespace newsroom::content
