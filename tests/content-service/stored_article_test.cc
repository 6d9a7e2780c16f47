#include "content-service/src/stored_article.h"

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "content-service/src/grpc_content_service.h"

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

// ListArticles' response bytes, built from stored articles (ListArticlesResponseBytes), against
// serializing the same page built as protos.

v1::Article ArticleWithBody(const std::string& id, std::size_t body_bytes) {
  v1::Article article = FullArticle();
  article.set_name("articles/" + id);
  article.set_body(std::string(body_bytes, 'b'));
  return article;
}

analytics::v1::ReadStats StatsOf(const std::string& id, int64_t reads) {
  analytics::v1::ReadStats stats;
  stats.set_article("articles/" + id);
  stats.set_reads(reads);
  stats.set_unique_readers(reads / 2);
  return stats;
}

// The page both ways: as ListArticlesResponseBytes' input, and as the message it stands for.
struct BothPages {
  ArticlePageWithStats stored;
  v1::ListArticlesResponse message;

  void Add(const v1::Article& article, std::optional<analytics::v1::ReadStats> stats) {
    auto bytes = StoredArticle::FromArticle(article);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    stored.articles.push_back(ArticleWithStats{*bytes, stats});
    v1::Article* added = message.add_articles();
    *added = article;
    if (stats) *added->mutable_read_stats() = *stats;
  }
  void SetToken(const std::string& token) {
    stored.next_page_token = token;
    message.set_next_page_token(token);
  }
};

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(buffer.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

TEST(ListArticlesResponseBytesTest, EmptyPageIsAnEmptyMessageStillSent) {
  const grpc::ByteBuffer buffer = ListArticlesResponseBytes(ArticlePageWithStats());
  EXPECT_TRUE(buffer.Valid());  // an invalid buffer would send no message at all
  EXPECT_EQ(buffer.Length(), 0u);
  EXPECT_EQ(Flatten(buffer), v1::ListArticlesResponse().SerializeAsString());

  BothPages token_only;
  token_only.SetToken("token");
  EXPECT_EQ(Flatten(ListArticlesResponseBytes(std::move(token_only.stored))),
            token_only.message.SerializeAsString());
}

TEST(ListArticlesResponseBytesTest, EqualsTheSerializedPageWithAndWithoutStatsAndToken) {
  for (const bool with_token : {false, true}) {
    for (const bool with_stats : {false, true}) {
      BothPages page;
      // Bodies from nothing to past 16 KiB: copied and referred-to bytes, one- to three-byte
      // lengths.
      const std::size_t bodies[] = {0, 100, 1000, 1024, 3200, 20000, 3200};
      for (int i = 0; i < 7; ++i) {
        const std::string id = "a-" + std::to_string(i);
        // The third and sixth without stats, as when analytics did not answer for them.
        std::optional<analytics::v1::ReadStats> stats;
        if (with_stats && i % 3 != 2) stats = StatsOf(id, 1000 * i);
        page.Add(ArticleWithBody(id, bodies[i]), stats);
      }
      if (with_token) page.SetToken("MTc5NTAwMDAwMHwwfGEtNnw");
      const std::string expected = page.message.SerializeAsString();

      const std::string sent = Flatten(ListArticlesResponseBytes(std::move(page.stored)));
      EXPECT_EQ(sent, expected) << "stats " << with_stats << ", token " << with_token;
      v1::ListArticlesResponse parsed;
      ASSERT_TRUE(parsed.ParseFromString(sent));
      ASSERT_EQ(parsed.articles_size(), 7);
      EXPECT_EQ(parsed.articles(6).body().size(), 3200u);
      EXPECT_EQ(parsed.articles(1).has_read_stats(), with_stats);
      EXPECT_FALSE(parsed.articles(2).has_read_stats());
      EXPECT_FALSE(parsed.articles(5).has_read_stats());
      EXPECT_EQ(parsed.next_page_token(), with_token ? "MTc5NTAwMDAwMHwwfGEtNnw" : "");
    }
  }
}

TEST(ListArticlesResponseBytesTest, RefersToLargeStoredBytesAndKeepsThemAlive) {
  BothPages page;
  page.Add(ArticleWithBody("large", 3200), StatsOf("large", 5));
  page.Add(ArticleWithBody("small", 10), StatsOf("small", 6));
  const std::string expected = page.message.SerializeAsString();
  const char* large_bytes = page.stored.articles[0].article.bytes().data();
  const char* small_bytes = page.stored.articles[1].article.bytes().data();

  grpc::ByteBuffer buffer = ListArticlesResponseBytes(std::move(page.stored));
  page = BothPages();  // the page's own references are gone; the buffer's remain
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(buffer.Dump(&slices).ok());
  bool large_referred = false;
  for (const grpc::Slice& slice : slices) {
    const char* begin = reinterpret_cast<const char*>(slice.begin());
    large_referred = large_referred || begin == large_bytes;
    EXPECT_NE(begin, small_bytes);  // copied: too small to be worth a reference
  }
  EXPECT_TRUE(large_referred);
  slices.clear();
  EXPECT_EQ(Flatten(buffer), expected);
}

// The page's grant of response bytes is returned when gRPC drops the last of its slices, not
// before: until then the bytes are in memory, however slowly the client reads them.
TEST(ListArticlesResponseBytesTest, HoldsThePagesGrantUntilItsSlicesAreDropped) {
  for (const bool large_last : {false, true}) {
    MemoryBudget budget(1 << 20);
    BothPages page;
    page.Add(ArticleWithBody("first", 3200), std::nullopt);
    // Without stats or a token, a large last article is a referring slice, a small one copied.
    page.Add(ArticleWithBody("last", large_last ? 3200 : 10), std::nullopt);
    std::optional<MemoryBudget::Grant> grant = budget.TryAcquire(7000);
    ASSERT_TRUE(grant.has_value());
    page.stored.response_bytes = *std::move(grant);

    auto buffer =
        std::make_unique<grpc::ByteBuffer>(ListArticlesResponseBytes(std::move(page.stored)));
    page = BothPages();
    EXPECT_EQ(budget.in_use(), 7000) << "large_last " << large_last;
    std::vector<grpc::Slice> slices;
    ASSERT_TRUE(buffer->Dump(&slices).ok());
    buffer.reset();
    ASSERT_GE(slices.size(), 2u);
    slices.erase(slices.begin(), slices.end() - 1);
    EXPECT_EQ(budget.in_use(), 7000) << "the last slice is still held; large_last " << large_last;
    slices.clear();
    EXPECT_EQ(budget.in_use(), 0) << "large_last " << large_last;
  }
}

TEST(ArticleResponseBytesTest, EqualsTheSerializedArticleWithAndWithoutStats) {
  for (const bool with_stats : {false, true}) {
    const v1::Article article = ArticleWithBody("one", 3200);
    auto stored = StoredArticle::FromArticle(article);
    ASSERT_TRUE(stored.ok()) << stored.status();
    v1::Article expected = article;
    std::optional<analytics::v1::ReadStats> stats;
    if (with_stats) {
      stats = StatsOf("one", 491);
      *expected.mutable_read_stats() = *stats;
    }
    const grpc::ByteBuffer buffer = ArticleResponseBytes(ArticleWithStats{*stored, stats});
    EXPECT_EQ(Flatten(buffer), expected.SerializeAsString()) << "stats " << with_stats;
  }
}

// A GetArticle or ReadArticle response's hold on the article's bytes is returned when gRPC drops
// the article's slice, not before.
TEST(ArticleResponseBytesTest, HoldsTheArticleUntilTheArticlesSliceIsDropped) {
  MemoryBudget budget(1 << 20);
  auto stored = StoredArticle::FromArticle(ArticleWithBody("one", 3200));
  ASSERT_TRUE(stored.ok()) << stored.status();
  const char* stored_bytes = stored->bytes().data();
  const auto article_bytes = static_cast<std::int64_t>(stored->bytes().size());
  std::optional<MemoryBudget::SharedHold> hold = budget.TryHold(stored->shared_bytes());
  ASSERT_TRUE(hold.has_value());
  auto buffer = std::make_unique<grpc::ByteBuffer>(ArticleResponseBytes(
      ArticleWithStats{*std::move(stored), StatsOf("one", 5), *std::move(hold)}));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(buffer->Dump(&slices).ok());
  buffer.reset();
  ASSERT_EQ(slices.size(), 2u);
  EXPECT_EQ(reinterpret_cast<const char*>(slices[0].begin()), stored_bytes) << "not a copy";
  EXPECT_EQ(budget.in_use(), article_bytes);
  slices.erase(slices.begin() + 1);  // the stats field
  EXPECT_EQ(budget.in_use(), article_bytes);
  slices.clear();
  EXPECT_EQ(budget.in_use(), 0);
}

// Every copy of a stored article, such as the cache's and each response's, counts its bytes in
// flight as one; a store's second read of the same article is other bytes.
TEST(StoredArticleTest, CopiesShareTheirBytesInFlight) {
  auto stored = StoredArticle::FromArticle(ArticleWithBody("one", 3200));
  ASSERT_TRUE(stored.ok()) << stored.status();
  const StoredArticle copy = *stored;
  EXPECT_EQ(copy.shared_bytes(), stored->shared_bytes());
  EXPECT_EQ(stored->shared_bytes()->bytes(), static_cast<std::int64_t>(stored->bytes().size()));
  const StoredArticle read_again(std::string(stored->bytes()));
  EXPECT_NE(read_again.shared_bytes(), stored->shared_bytes());
}

// ListMostReadArticles' response is the serialized message, in one slice that holds the page's
// grant until gRPC drops it.
TEST(MostReadPageBytesTest, IsTheSerializedResponseAndHoldsTheGrantUntilDropped) {
  MemoryBudget budget(1 << 20);
  MostReadPage page;
  for (const std::string id : {"one", "two"}) {
    v1::MostReadArticle* entry = page.response.add_articles();
    *entry->mutable_article() = ArticleWithBody(id, 2000);
    *entry->mutable_article()->mutable_read_stats() = StatsOf(id, 40);
    entry->set_reads(40);
  }
  const std::string expected = page.response.SerializeAsString();
  std::optional<MemoryBudget::Grant> grant = budget.TryAcquire(5000);
  ASSERT_TRUE(grant.has_value());
  page.response_bytes = *std::move(grant);
  auto buffer = std::make_unique<grpc::ByteBuffer>(MostReadPageBytes(std::move(page)));
  EXPECT_EQ(Flatten(*buffer), expected);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(buffer->Dump(&slices).ok());
  buffer.reset();
  EXPECT_EQ(budget.in_use(), 5000) << "the slice is still held";
  slices.clear();
  EXPECT_EQ(budget.in_use(), 0);
}

}  // namespace
}  // namespace newsroom::content
