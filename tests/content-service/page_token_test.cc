#include "content-service/src/page_token.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"

namespace newsroom::content {
namespace {

ListCursor Cursor(std::int64_t seconds, std::int32_t nanos, std::string id) {
  ListCursor cursor;
  cursor.publish_time.set_seconds(seconds);
  cursor.publish_time.set_nanos(nanos);
  cursor.article_id = std::move(id);
  return cursor;
}

TEST(PageTokenTest, RoundTripsTheCursorForTheSameTag) {
  for (const auto& [cursor, tag] : {std::pair{Cursor(1795000000, 5, "rail-line"), ""},
                                    std::pair{Cursor(-100, 999999999, "a"), "transport"},
                                    std::pair{Cursor(0, 0, std::string(63, 'z')), "x-y"}}) {
    const std::string token = EncodePageToken(cursor, tag);
    const auto decoded = DecodePageToken(token, tag);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->publish_time.seconds(), cursor.publish_time.seconds());
    EXPECT_EQ(decoded->publish_time.nanos(), cursor.publish_time.nanos());
    EXPECT_EQ(decoded->article_id, cursor.article_id);
  }
}

TEST(PageTokenTest, RejectsATokenFromAnotherListing) {
  const std::string token = EncodePageToken(Cursor(10, 0, "a"), "science");
  const auto decoded = DecodePageToken(token, "sport");
  EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decoded.status().message().substr(0, 11), "page_token:");
  EXPECT_FALSE(DecodePageToken(token, "").ok());
}

TEST(PageTokenTest, RejectsForgedTokens) {
  const auto forge = [](absl::string_view payload) { return absl::WebSafeBase64Escape(payload); };
  for (const std::string& bad :
       {std::string("not base64 !"), std::string("AAAA"), forge("2|10|0|a|"), forge("1|10|0|a"),
        forge("1|ten|0|a|"), forge("1|10|-1|a|"), forge("1|10|1000000000|a|"),
        forge("1|10|0|Bad_Id|"), forge("1|10|0||"), forge("1|10|0|a||"),
        forge("1|99999999999999999999|0|a|"), std::string(600, 'A')}) {
    const auto decoded = DecodePageToken(bad, "");
    EXPECT_EQ(decoded.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace newsroom::content
