#include "common/src/validation.h"

#include <gtest/gtest.h>

#include <string>

namespace newsroom {
namespace {

TEST(ArticleIdTest, AcceptsLowercaseSlugsUpTo63Characters) {
  EXPECT_TRUE(IsValidArticleId("a"));
  EXPECT_TRUE(IsValidArticleId("0-day"));
  EXPECT_TRUE(IsValidArticleId("rail-line-opens-2026"));
  EXPECT_TRUE(IsValidArticleId(std::string(63, 'x')));
}

TEST(ArticleIdTest, RejectsEverythingElse) {
  for (const std::string& bad :
       {std::string(), std::string("-lead"), std::string("Upper"), std::string("has space"),
        std::string("under_score"), std::string("dot.dot"), std::string(64, 'x'),
        std::string("nul\0byte", 8), std::string("cr\rlf\n"), std::string("per%cent"),
        std::string("caf\xc3\xa9")}) {
    EXPECT_FALSE(IsValidArticleId(bad)) << bad;
  }
}

TEST(ParseArticleNameTest, ReturnsTheIdOrNamesTheField) {
  const auto id = ParseArticleName("articles/city-library", "name");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "city-library");

  for (const char* bad : {"", "city-library", "articles/", "articles/Bad", "article/x",
                          "articles/x/y", "/articles/x"}) {
    const auto parsed = ParseArticleName(bad, "name");
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(parsed.status().message().substr(0, 5), "name:") << bad;
  }
}

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xd0\x90\xd0\xbb\xd0\xb5\xd1\x81\xd1\x8c"));  // Cyrillic
  EXPECT_TRUE(IsValidUtf8("L\xe2\x80\x99Osservatorio"));                 // right quote
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x93\xb0"));                          // emoji
}

TEST(Utf8Test, RejectsMalformedText) {
  for (const char* bad : {"\x80", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "\xff", "ok\xe2\x82"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
}

TEST(ValidateTextTest, EnforcesRequiredBoundUtf8AndControlCharacters) {
  EXPECT_TRUE(ValidateText("", "subtitle", 10, TextKind::kSingleLine).ok());
  EXPECT_EQ(ValidateText("", "title", 10, TextKind::kSingleLine, true).message(),
            "title: is required");
  EXPECT_EQ(ValidateText("12345678901", "title", 10, TextKind::kSingleLine).message(),
            "title: must be at most 10 bytes");
  EXPECT_EQ(ValidateText("\xff", "title", 10, TextKind::kSingleLine).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ValidateText("two\nlines", "title", 100, TextKind::kSingleLine).ok());
  EXPECT_TRUE(ValidateText("para one\n\npara\ttwo\r\n", "body", 100, TextKind::kMultiLine).ok());
  EXPECT_FALSE(ValidateText(std::string("nul\0", 4), "body", 100, TextKind::kMultiLine).ok());
  EXPECT_FALSE(ValidateText("bell\a", "body", 100, TextKind::kMultiLine).ok());
}

TEST(ReadIdTest, AcceptsTheDocumentedAlphabetOnly) {
  EXPECT_TRUE(ValidateReadId("a", "read_id").ok());
  EXPECT_TRUE(ValidateReadId("2026-11-28T10:00:00.1~_x", "read_id").ok());
  EXPECT_TRUE(ValidateReadId(std::string(128, 'r'), "read_id").ok());
  for (const std::string& bad :
       {std::string(), std::string(129, 'r'), std::string("with space"), std::string("cr\r"),
        std::string("pct%41"), std::string("nul\0", 4), std::string("slash/")}) {
    EXPECT_EQ(ValidateReadId(bad, "read_id").code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ReaderIdTest, AllowsEmptyAndBoundsLength) {
  EXPECT_TRUE(ValidateReaderId("", "reader_id").ok());
  EXPECT_TRUE(ValidateReaderId("cookie-\xd0\x90", "reader_id").ok());
  EXPECT_TRUE(ValidateReaderId(std::string(256, 'r'), "reader_id").ok());
  EXPECT_FALSE(ValidateReaderId(std::string(257, 'r'), "reader_id").ok());
  EXPECT_FALSE(ValidateReaderId("line\nbreak", "reader_id").ok());
}

}  // namespace
}  // namespace newsroom
