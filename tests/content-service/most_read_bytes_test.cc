// ContentService::ListMostReadArticles and the bound on response bytes in flight, on the logic
// alone: a real SQLite store in memory, and a stand-in for analytics-service that answers at once
// from a fixed ranking, a few articles a page, so that a listing takes several rounds.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "content-service/src/content_service.h"
#include "content-service/src/pending_reads.h"
#include "content-service/src/sqlite_article_store.h"
#include "content-service/src/sqlite_read_outbox.h"
#include "tests/content-service/unused_analytics.h"

namespace newsroom::content {
namespace {

// Ranks `ranked` (article names, most read first) and pages it `per_page` at a time whatever the
// page size asked, so that a listing needs one round per page; every article's stats are 7 reads.
class RankingAnalytics final : public UnusedAnalytics {
 public:
  RankingAnalytics(std::vector<std::string> ranked, int per_page)
      : ranked_(std::move(ranked)), per_page_(per_page) {}

  void ListTopArticles(const analytics_v1::ListTopArticlesRequest& request, absl::Time,
                       const TraceContext&,
                       Callback<analytics_v1::ListTopArticlesResponse> done) override {
    const std::size_t start = request.page_token().empty() ? 0 : std::stoul(request.page_token());
    analytics_v1::ListTopArticlesResponse response;
    std::size_t next = start;
    for (; next < ranked_.size() && next < start + static_cast<std::size_t>(per_page_); ++next) {
      auto* entry = response.add_articles();
      entry->set_article(ranked_[next]);
      entry->set_reads(static_cast<std::int64_t>(1000 - next));
    }
    if (next < ranked_.size()) response.set_next_page_token(std::to_string(next));
    ++ranking_calls;
    std::move(done)(std::move(response));
  }

  void BatchGetReadStats(std::vector<std::string> articles, absl::Time, const TraceContext&,
                         Callback<std::vector<analytics_v1::ReadStats>> done) override {
    std::vector<analytics_v1::ReadStats> stats;
    for (const std::string& article : articles) {
      stats.emplace_back().set_article(article);
      stats.back().set_reads(7);
    }
    std::move(done)(std::move(stats));
  }

  int ranking_calls = 0;

 private:
  const std::vector<std::string> ranked_;
  const int per_page_;
};

class MostReadBytesTest : public ::testing::Test {
 protected:
  // A service whose responses in flight may hold `max_bytes`, over articles `ids` of `body_bytes`
  // each, ranked in that order with `missing` (never created: deleted) ranked first, two a page.
  void Start(std::int64_t max_bytes, const std::vector<std::string>& ids, std::size_t body_bytes,
             const std::vector<std::string>& missing = {}) {
    auto store = SqliteArticleStore::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    auto outbox = SqliteReadOutbox::Open(":memory:");
    ASSERT_TRUE(outbox.ok()) << outbox.status();
    outbox_ = *std::move(outbox);
    std::vector<std::string> ranked;
    for (const std::string& id : missing) ranked.push_back("articles/" + id);
    for (const std::string& id : ids) ranked.push_back("articles/" + id);
    analytics_ = std::make_unique<RankingAnalytics>(ranked, 2);
    pending_ =
        std::make_unique<PendingReads>(analytics_.get(), outbox_.get(), PendingReadsOptions());
    service_ = std::make_unique<ContentService>(
        store_.get(), analytics_.get(), pending_.get(),
        ContentServiceOptions{.max_response_bytes_in_flight = max_bytes});
    for (const std::string& id : ids) {
      content_v1::CreateArticleRequest create;
      create.set_article_id(id);
      create.mutable_article()->set_title("Most read " + id);
      create.mutable_article()->set_body(std::string(body_bytes, 'm'));
      const auto created = service_->CreateArticle(create);
      ASSERT_TRUE(created.ok()) << created.status();
    }
  }

  // ListMostReadArticles' answer (the fake answers inline, so it is there on return).
  absl::StatusOr<MostReadPage> ListMostRead(int page_size) {
    content_v1::ListMostReadArticlesRequest request;
    request.set_page_size(page_size);
    std::optional<absl::StatusOr<MostReadPage>> answer;
    service_->ListMostReadArticles(
        request, absl::InfiniteFuture(), TraceContext(),
        [&](absl::StatusOr<MostReadPage> page) { answer = std::move(page); });
    if (!answer) return absl::InternalError("no answer");
    return *std::move(answer);
  }

  std::unique_ptr<SqliteArticleStore> store_;
  std::unique_ptr<SqliteReadOutbox> outbox_;
  std::unique_ptr<RankingAnalytics> analytics_;
  std::unique_ptr<PendingReads> pending_;
  std::unique_ptr<ContentService> service_;
};

TEST_F(MostReadBytesTest, GrantsAtLeastTheResponsesBytesAndLittleMore) {
  ASSERT_NO_FATAL_FAILURE(Start(1 << 20, {"a", "b", "c", "d", "e"}, 2000, {"gone"}));
  auto page = ListMostRead(4);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->response.articles_size(), 4);
  EXPECT_GE(analytics_->ranking_calls, 3) << "the deleted article takes a round more";
  const auto serialized = static_cast<std::int64_t>(page->response.ByteSizeLong());
  EXPECT_GE(page->response_bytes.bytes(), serialized);
  EXPECT_LE(page->response_bytes.bytes(), serialized + 1024 + 4 * 128);
}

// Another response's bytes in flight (a GetArticle answer not yet dropped) leave no room for the
// ranking; once that answer goes, the ranking is served.
TEST_F(MostReadBytesTest, IsRefusedWhileOtherResponsesHoldTheBound) {
  ASSERT_NO_FATAL_FAILURE(Start(100000, {"big", "a", "b"}, 60000));
  std::optional<absl::StatusOr<ArticleWithStats>> held;
  content_v1::GetArticleRequest get;
  get.set_name("articles/big");
  service_->GetArticle(get, absl::InfiniteFuture(), TraceContext(),
                       [&](absl::StatusOr<ArticleWithStats> answer) { held = std::move(answer); });
  ASSERT_TRUE(held.has_value() && held->ok());

  const auto refused = ListMostRead(3);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted) << refused.status();
  held.reset();
  const auto served = ListMostRead(3);
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->response.articles_size(), 3);
}

// A page larger than the whole bound is served when nothing else is in flight, though it is
// granted a round at a time: its own earlier rounds never count against it.
TEST_F(MostReadBytesTest, APageLargerThanTheBoundIsServedAloneAcrossRounds) {
  ASSERT_NO_FATAL_FAILURE(Start(20000, {"a", "b", "c", "d", "e", "f"}, 15000));
  auto page = ListMostRead(6);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->response.articles_size(), 6);
  EXPECT_GE(analytics_->ranking_calls, 3);
  EXPECT_GT(page->response_bytes.bytes(), 20000);
}

}  // namespace
}  // namespace newsroom::content
