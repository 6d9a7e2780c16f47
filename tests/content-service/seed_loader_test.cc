#include "content-service/src/seed_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/src/validation.h"
#include "tests/support/build_paths.h"

namespace newsroom::content {
namespace {

using ::testing::HasSubstr;

// Writes `contents` to a fresh file, removed at the end of the test.
class TempFile final {
 public:
  explicit TempFile(const std::string& contents) {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::path(::testing::TempDir()) /
             absl::StrCat("seed_loader_test.", getpid(), ".", counter++, ".json"))
                .string();
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(SeedLoaderTest, SampleArticlesLoad) {
  absl::StatusOr<std::vector<v1::Article>> articles = LoadSeedArticles(
      newsroom::testing::build_paths::SourcePath("content-service/samples/articles.json"));
  ASSERT_TRUE(articles.ok()) << articles.status();
  EXPECT_EQ(articles->size(), 6u);
}

// The samples are what a fresh deployment shows, so they must pass the API's own bounds.
TEST(SeedLoaderTest, SampleArticlesAreWithinTheApiBounds) {
  absl::StatusOr<std::vector<v1::Article>> articles = LoadSeedArticles(
      newsroom::testing::build_paths::SourcePath("content-service/samples/articles.json"));
  ASSERT_TRUE(articles.ok()) << articles.status();
  bool has_cyrillic_credit = false;
  bool has_emoji = false;
  for (const v1::Article& a : *articles) {
    SCOPED_TRACE(a.name());
    EXPECT_TRUE(ParseArticleName(a.name(), "name").ok());
    EXPECT_TRUE(ValidateText(a.title(), "title", 500, TextKind::kSingleLine, true).ok());
    EXPECT_TRUE(ValidateText(a.subtitle(), "subtitle", 2000, TextKind::kSingleLine).ok());
    EXPECT_TRUE(ValidateText(a.body(), "body", 200000, TextKind::kMultiLine).ok());
    const std::vector<std::string> paragraphs = absl::StrSplit(a.body(), "\n\n");
    EXPECT_GE(paragraphs.size(), 2u);
    EXPECT_LE(paragraphs.size(), 4u);
    EXPECT_TRUE(
        ValidateText(a.lead_image().caption(), "caption", 1000, TextKind::kSingleLine).ok());
    EXPECT_TRUE(
        ValidateText(a.lead_image().alt_text(), "alt_text", 1000, TextKind::kSingleLine).ok());
    EXPECT_TRUE(ValidateText(a.lead_image().credit(), "credit", 300, TextKind::kSingleLine).ok());
    EXPECT_TRUE(ValidateText(a.source().name(), "source", 300, TextKind::kSingleLine).ok());
    EXPECT_THAT(a.lead_image().uri(), ::testing::StartsWith("https://"));
    EXPECT_THAT(a.source().uri(), ::testing::StartsWith("https://"));
    EXPECT_LE(a.tags_size(), 20);
    for (const std::string& tag : a.tags()) EXPECT_TRUE(IsValidArticleId(tag)) << tag;
    EXPECT_FALSE(a.language().empty());
    EXPECT_GE(a.authors_size(), 1);
    EXPECT_LE(a.authors_size(), 20);
    EXPECT_TRUE(a.has_publish_time());
    has_cyrillic_credit |= a.lead_image().credit().find("\xD0") != std::string::npos;
    has_emoji |= a.body().find("\xF0\x9F") != std::string::npos;
  }
  EXPECT_TRUE(has_cyrillic_credit);
  EXPECT_TRUE(has_emoji);
}

TEST(SeedLoaderTest, ParsesTheProtobufJsonMapping) {
  TempFile file(R"({"articles": [
    {"name": "articles/one", "title": "One’s title", "publishTime": "2026-11-20T10:00:00.5Z",
     "leadImage": {"credit": "Алесь"}, "tags": ["a", "b"]},
    {"name": "articles/two", "title": "Two", "lead_image": {"alt_text": "snake_case works too"}}
  ]})");
  absl::StatusOr<std::vector<v1::Article>> articles = LoadSeedArticles(file.path());
  ASSERT_TRUE(articles.ok()) << articles.status();
  ASSERT_EQ(articles->size(), 2u);
  EXPECT_EQ((*articles)[0].title(), "One’s title");
  EXPECT_EQ((*articles)[0].lead_image().credit(), "Алесь");
  EXPECT_EQ((*articles)[0].publish_time().nanos(), 500'000'000);
  EXPECT_EQ((*articles)[1].lead_image().alt_text(), "snake_case works too");
}

TEST(SeedLoaderTest, EmptyListLoads) {
  TempFile file("{}");
  absl::StatusOr<std::vector<v1::Article>> articles = LoadSeedArticles(file.path());
  ASSERT_TRUE(articles.ok()) << articles.status();
  EXPECT_TRUE(articles->empty());
}

TEST(SeedLoaderTest, UnknownFieldIsInvalidArgument) {
  TempFile file(R"({"articles": [{"name": "articles/one", "headline": "typo"}]})");
  absl::StatusOr<std::vector<v1::Article>> articles = LoadSeedArticles(file.path());
  EXPECT_EQ(articles.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(articles.status().message()), HasSubstr(file.path()));
  EXPECT_THAT(std::string(articles.status().message()), HasSubstr("headline"));
}

TEST(SeedLoaderTest, MalformedJsonIsInvalidArgument) {
  for (const std::string& bad :
       {std::string(R"({"articles": [{"name": "articles/one",]})"), std::string(""),
        std::string("[]"), std::string(R"({"articles": [{"publishTime": "yesterday"}]})")}) {
    TempFile file(bad);
    absl::StatusOr<std::vector<v1::Article>> articles = LoadSeedArticles(file.path());
    EXPECT_EQ(articles.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(std::string(articles.status().message()), HasSubstr(file.path()));
  }
}

TEST(SeedLoaderTest, MissingFileIsNotFound) {
  const std::string path = ::testing::TempDir() + "/seed_loader_test.no-such-file.json";
  absl::StatusOr<std::vector<v1::Article>> articles = LoadSeedArticles(path);
  EXPECT_EQ(articles.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(articles.status().message()), HasSubstr(path));
}

TEST(SeedLoaderTest, OversizedFileIsRefusedUnread) {
  TempFile file("{}");
  std::filesystem::resize_file(file.path(), kMaxSeedFileBytes + 1);  // sparse: cheap to make
  absl::StatusOr<std::vector<v1::Article>> articles = LoadSeedArticles(file.path());
  EXPECT_EQ(articles.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(articles.status().message()), HasSubstr("limit"));
}

TEST(SeedLoaderTest, DirectoryIsInvalidArgument) {
  absl::StatusOr<std::vector<v1::Article>> articles = LoadSeedArticles(::testing::TempDir());
  EXPECT_EQ(articles.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace newsroom::content
