#include "analytics-service/src/page_token.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/escaping.h"

namespace newsroom::analytics {
namespace {

using v1::Period;

TEST(PageTokenTest, RoundTripsPeriodAndOffset) {
  const struct {
    Period period;
    int64_t offset;
  } cases[] = {
      {v1::PERIOD_ALL_TIME, 0},     {v1::PERIOD_ALL_TIME, 10},
      {v1::PERIOD_LAST_DAY, 1000},  {v1::PERIOD_LAST_7_DAYS, 7},
      {v1::PERIOD_LAST_30_DAYS, 1}, {v1::PERIOD_LAST_30_DAYS, kMaxPageOffset},
  };
  for (const auto& c : cases) {
    const std::string token = EncodePageToken(c.period, c.offset);
    absl::StatusOr<int64_t> offset = DecodePageToken(token, c.period);
    ASSERT_TRUE(offset.ok()) << token << ": " << offset.status();
    EXPECT_EQ(*offset, c.offset);
  }
}

TEST(PageTokenTest, TokenIsUrlSafe) {
  const std::string token = EncodePageToken(v1::PERIOD_LAST_30_DAYS, 123456789);
  EXPECT_EQ(
      token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
}

TEST(PageTokenTest, RejectsMalformedTokens) {
  const std::string cases[] = {
      "!!!not base64!!!",
      absl::WebSafeBase64Escape("v1:1"),
      absl::WebSafeBase64Escape("v1:1:10:extra"),
      absl::WebSafeBase64Escape("v2:1:10"),
      absl::WebSafeBase64Escape("v1:x:10"),
      absl::WebSafeBase64Escape("v1:1:ten"),
      absl::WebSafeBase64Escape("v1:1:-5"),
      absl::WebSafeBase64Escape("v1:1:"),
      absl::WebSafeBase64Escape("v1:1:99999999999999999999"),
      absl::WebSafeBase64Escape("v1:1:1099511627777"),  // kMaxPageOffset + 1
      absl::WebSafeBase64Escape(""),
  };
  for (const std::string& token : cases) {
    absl::StatusOr<int64_t> offset = DecodePageToken(token, v1::PERIOD_ALL_TIME);
    EXPECT_EQ(offset.status().code(), absl::StatusCode::kInvalidArgument) << token;
    EXPECT_EQ(offset.status().message(), "page_token: is malformed") << token;
  }
}

TEST(PageTokenTest, RejectsTokenOfAnotherPeriod) {
  const std::string token = EncodePageToken(v1::PERIOD_LAST_7_DAYS, 10);
  absl::StatusOr<int64_t> offset = DecodePageToken(token, v1::PERIOD_LAST_30_DAYS);
  EXPECT_EQ(offset.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(offset.status().message(), "page_token: was issued for another period");
}

}  // namespace
}  // namespace newsroom::analytics
