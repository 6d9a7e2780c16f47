#include "common/src/log.h"

#include <gtest/gtest.h>

#include <string>

namespace newsroom::log {
namespace {

std::string Json(absl::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

struct EscapeCase {
  std::string name;
  std::string input;
  std::string json;
};

class JsonEscapeTest : public ::testing::TestWithParam<EscapeCase> {};

TEST_P(JsonEscapeTest, EscapesAsJsonRequires) {
  EXPECT_EQ(Json(GetParam().input), GetParam().json);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JsonEscapeTest,
    ::testing::Values(
        EscapeCase{"Plain", "plain text", R"("plain text")"}, EscapeCase{"Empty", "", R"("")"},
        EscapeCase{"Quote", R"(say "hi")", R"("say \"hi\"")"},
        EscapeCase{"Backslash", R"(a\b)", R"("a\\b")"},
        EscapeCase{"ShortEscapes", "\n\r\t\b\f", R"("\n\r\t\b\f")"},
        EscapeCase{"OtherControls", std::string("\x01\x1f\x7f", 3), R"("\u0001\u001f\u007f")"},
        EscapeCase{"Nul", std::string("a\0b", 3), R"("a\u0000b")"},
        EscapeCase{"SlashKept", "a/b", R"("a/b")"},
        EscapeCase{"ValidUtf8Kept", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xB0",
                   "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xB0\""},
        EscapeCase{"LoneContinuationByte", "a\x80z", "\"a\xEF\xBF\xBDz\""},
        EscapeCase{"TruncatedSequenceAtEnd", "a\xE2\x82", "\"a\xEF\xBF\xBD\xEF\xBF\xBD\""},
        EscapeCase{"OverlongSlash", "\xC0\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},
        EscapeCase{"Surrogate", "\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
        EscapeCase{"BeyondU10FFFF", "\xF4\x90\x80\x80",
                   "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},
        EscapeCase{"LatinOneByte", "\xFF", "\"\xEF\xBF\xBD\""},
        EscapeCase{"QuoteAfterInvalidByte", "\xC3\"", "\"\xEF\xBF\xBD\\\"\""}),
    [](const ::testing::TestParamInfo<EscapeCase>& info) { return info.param.name; });

TEST(LogLineTest, HasTheCommonFieldsThenTheLinesOwnInOrder) {
  const absl::Time time = absl::FromUnixMillis(1714564800123);  // 2024-05-01T12:00:00.123Z
  const std::string text = "x\"y";
  const Field fields[] = {{"method", "/a.B/C"}, {"count", 3}, {"big", std::uint64_t{1} << 63},
                          {"negative", -2},     {"ok", true}, {"ms", 1.5},
                          {"text", text}};
  EXPECT_EQ(FormatLine(time, Level::kWarning, "content-service", "a \"msg\"", fields),
            R"({"time":"2024-05-01T12:00:00.123Z","level":"warning","service":"content-service",)"
            R"("msg":"a \"msg\"","method":"/a.B/C","count":3,"big":9223372036854775808,)"
            R"("negative":-2,"ok":true,"ms":1.500,"text":"x\"y"})"
            "\n");
}

TEST(LogLineTest, NonFiniteNumbersAreNull) {
  const Field fields[] = {{"nan", 0.0 / 0.0}};
  EXPECT_NE(FormatLine(absl::UnixEpoch(), Level::kInfo, "s", "m", fields).find(R"("nan":null)"),
            std::string::npos);
}

TEST(LogLineTest, TimeIsUtcWithMilliseconds) {
  const std::string line = FormatLine(absl::FromUnixMillis(5), Level::kError, "s", "m", {});
  EXPECT_EQ(line.substr(0, 44), R"({"time":"1970-01-01T00:00:00.005Z","level":")");
}

}  // namespace
}  // namespace newsroom::log
