#include "content-service/src/stored_article.h"

#include <gtest/gtest.h>

#include <string>

namespace newsroom::content {
namespace {

v1::Article FullArticle() {
  v1::Article article;
  article.set_name("articles/harbour-line");
  article.set_title("Harbour line reopens");
  article.set_body("First paragraph.\n\nSecond paragraph.");
  article.mutable_lead_image()->set_uri("https://example.com/a.jpg");
  article.add_tags("rail");
  article.add_tags("coast");
  article.add_authors("A. Writer");
  article.mutable_publish_time()->set_seconds(1795000000);
  article.set_etag("e1");
  return article;
}

analytics::v1::ReadStats Stats() {
  analytics::v1::ReadStats stats;
  stats.set_article("articles/harbour-line");
  stats.set_reads(491);
  stats.set_unique_readers(17);
  return stats;
}

TEST(StoredArticleTest, LeavesReadStatsOut) {
  v1::Article article = FullArticle();
  *article.mutable_read_stats() = Stats();
  auto stored = StoredArticle::FromArticle(article);
  ASSERT_TRUE(stored.ok()) << stored.status();
  article.clear_read_stats();
  EXPECT_EQ(stored->bytes(), article.SerializeAsString());
}

TEST(StoredArticleTest, ParsesBackToTheArticle) {
  auto stored = StoredArticle::FromArticle(FullArticle());
  ASSERT_TRUE(stored.ok());
  auto parsed = stored->Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->SerializeAsString(), FullArticle().SerializeAsString());
}

TEST(StoredArticleTest, CopiesShareTheBytes) {
  const StoredArticle stored(std::string(3000, 'x'));
  const StoredArticle copy = stored;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(copy.bytes().data(), stored.bytes().data());
}

TEST(StoredArticleTest, CorruptBytesAreInternal) {
  const StoredArticle stored(std::string("\xff\xff\xff", 3));
  EXPECT_EQ(stored.Parse().status().code(), absl::StatusCode::kInternal);
}

// What the page views send: the stored bytes with the read_stats field appended are, byte for
// byte, what serializing the article with its stats gives, and parse as that article.
TEST(StoredArticleTest, StoredBytesAndReadStatsFieldMakeTheArticleWithStats) {
  auto stored = StoredArticle::FromArticle(FullArticle());
  ASSERT_TRUE(stored.ok());
  const std::string sent = std::string(stored->bytes()) + ReadStatsField(Stats());

  v1::Article expected = FullArticle();
  *expected.mutable_read_stats() = Stats();
  EXPECT_EQ(sent, expected.SerializeAsString());
  v1::Article parsed;
  ASSERT_TRUE(parsed.ParseFromString(sent));
  EXPECT_EQ(parsed.read_stats().reads(), 491);
  EXPECT_EQ(parsed.read_stats().unique_readers(), 17);
  EXPECT_EQ(parsed.title(), "Harbour line reopens");
}

TEST(StoredArticleTest, ZeroStatsStillMakeAPresentField) {
  // Stats of an article nobody read yet: read_stats is set (all zero), not missing.
  analytics::v1::ReadStats none;
  none.set_article("articles/harbour-line");
  v1::Article parsed;
  ASSERT_TRUE(parsed.ParseFromString(ReadStatsField(none)));
  EXPECT_TRUE(parsed.has_read_stats());
  EXPECT_EQ(parsed.read_stats().reads(), 0);
}

}  // namespace
}  // namespace newsroom::content
