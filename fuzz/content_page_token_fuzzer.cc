// ListArticles page tokens (content-service/src/page_token.h). The first byte is the length of the
// tag the listing is filtered by, the tag follows, the rest is the token: a token that decodes must
// carry a valid cursor and re-encode to one that decodes to the same cursor; and any valid cursor,
// built from the same bytes, must survive encode and decode.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "common/src/validation.h"
#include "content-service/src/page_token.h"
#include "fuzz/fuzz_check.h"

namespace {

namespace content = ::newsroom::content;

bool SameCursor(const content::ListCursor& a, const content::ListCursor& b) {
  return a.publish_time.seconds() == b.publish_time.seconds() &&
         a.publish_time.nanos() == b.publish_time.nanos() && a.article_id == b.article_id;
}

void CheckDecode(absl::string_view token, absl::string_view tag) {
  const absl::StatusOr<content::ListCursor> cursor = content::DecodePageToken(token, tag);
  if (!cursor.ok()) {
    FUZZ_CHECK(cursor.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(cursor.status().message().rfind("page_token: ", 0) == 0);
    return;
  }
  FUZZ_CHECK(newsroom::IsValidArticleId(cursor->article_id));
  FUZZ_CHECK(cursor->publish_time.nanos() >= 0 && cursor->publish_time.nanos() <= 999999999);
  const std::string again = content::EncodePageToken(*cursor, tag);
  const absl::StatusOr<content::ListCursor> redecoded = content::DecodePageToken(again, tag);
  FUZZ_CHECK(redecoded.ok() && SameCursor(*redecoded, *cursor));
}

// Listings only ever carry a valid tag or none; a valid cursor must round-trip under it and be
// refused under any other tag.
void CheckRoundTrip(absl::string_view bytes, absl::string_view tag) {
  if (!tag.empty() && !newsroom::IsValidArticleId(tag)) return;
  if (bytes.size() < 12) return;
  content::ListCursor cursor;
  std::int64_t seconds;
  std::int32_t nanos;
  std::memcpy(&seconds, bytes.data(), sizeof seconds);
  std::memcpy(&nanos, bytes.data() + 8, sizeof nanos);
  cursor.publish_time.set_seconds(seconds);
  cursor.publish_time.set_nanos(nanos < 0 ? -(nanos + 1) % 1000000000 : nanos % 1000000000);
  cursor.article_id = std::string(bytes.substr(12));
  if (!newsroom::IsValidArticleId(cursor.article_id)) return;
  const std::string token = content::EncodePageToken(cursor, tag);
  const absl::StatusOr<content::ListCursor> decoded = content::DecodePageToken(token, tag);
  FUZZ_CHECK(decoded.ok() && SameCursor(*decoded, cursor));
  FUZZ_CHECK(!content::DecodePageToken(token, std::string(tag) + "x").ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const absl::string_view tag = rest.substr(0, data[0]);
  const absl::string_view token = rest.substr(tag.size());
  CheckDecode(token, tag);
  CheckRoundTrip(token, tag);
  return 0;
}
