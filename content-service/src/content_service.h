#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "content-service/src/analytics_client.h"
#include "content-service/src/article_store.h"
#include "content-service/src/callbacks_in_flight.h"
#include "content-service/src/pending_reads.h"
#include "content-service/src/read_coalescer.h"
#include "content-service/src/read_stats_cache.h"
#include "content-service/src/stats_feed.h"
#include "content-service/src/stats_refresher.h"
#include "content-service/src/stored_article.h"
#include "newsroom/content/v1/content_service.pb.h"

namespace newsroom::content {

namespace content_v1 = ::newsroom::content::v1;

// Articles one WatchArticleReadStats call may watch (as analytics-service's WatchReadStats).
inline constexpr int kMaxWatchedArticles = 100;

struct ContentServiceOptions {
  // Longest wait for analytics-service on a request's path; never past the caller's deadline.
  absl::Duration analytics_budget = absl::Milliseconds(100);
  // How old the stats served by GetArticle and ListArticles may be; zero always asks analytics.
  // Past half of it they are refreshed in the background.
  absl::Duration stats_max_age = absl::Seconds(1);
  // Keep the cached stats current from analytics-service's change stream (see StatsFeed).
  bool stats_feed = false;
  // Articles whose stats are remembered: room for a catalogue of about 100 000 read evenly, in
  // 8.4 MB of table slots and the keys' own heap copies, whatever the catalogue's size
  // (docs/performance.md, "The stats cache's cap"; at 120 000 entries the tables doubled to 17
  // MB). Past it, stats are refetched more often.
  std::size_t stats_cache_entries = ReadStatsCache::kEntriesAt8191Slots;
  // How page views share calls to analytics-service.
  ReadCoalescerOptions read_coalescing;
  // Bytes that the responses of GetArticle, ReadArticle, ListArticles and ListMostReadArticles in
  // flight may hold at once, until gRPC has sent them (0: no bound); an article's bytes count once
  // however many responses share them (StoredArticle::shared_bytes), a page's in full. A call that
  // would pass it is refused with RESOURCE_EXHAUSTED before it records a read or asks analytics for
  // stats.
  std::int64_t max_response_bytes_in_flight = 0;
};

// A ListMostReadArticles answer, with the grant of its bytes (see ArticlePageWithStats'
// response_bytes; the response's slice holds it until gRPC drops it).
struct MostReadPage {
  content_v1::ListMostReadArticlesResponse response;
  MemoryBudget::Grant response_bytes;
};

// The content API's logic, independent of gRPC: validation, the article store, and read stats
// from analytics-service. Calls that need analytics answer through `done` (exactly once, possibly
// on another thread); the rest return directly. `deadline` is the caller's; `trace` is this
// server's span of the call, which every call to analytics-service it causes carries on.
class ContentService final {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  // `store`, `analytics` and `pending_reads` are not owned and must outlive this object.
  ContentService(ArticleStore* store, AnalyticsClient* analytics, PendingReads* pending_reads,
                 ContentServiceOptions options);
  // Waits for callbacks still due from analytics-service (see WaitForAnalyticsCallbacks).
  ~ContentService();
  ContentService(const ContentService&) = delete;
  ContentService& operator=(const ContentService&) = delete;

  // Waits until every call this object made to analytics-service has called back, or `timeout`
  // passes; returns whether all did. Each such call has a deadline, so this ends. For shutdown:
  // once the server takes no more calls, this lets a read whose answer comes late still reach
  // the outbox before it stops.
  bool WaitForAnalyticsCallbacks(absl::Duration timeout);

  // The article as stored, with its current read stats (none when analytics does not answer in
  // time).
  void GetArticle(const content_v1::GetArticleRequest& request, absl::Time deadline,
                  const TraceContext& trace, Done<ArticleWithStats> done);

  // The article as stored, after recording one read; stats include the read, or are none when
  // analytics did not answer in time, in which case the read is queued for later delivery.
  void ReadArticle(const content_v1::ReadArticleRequest& request, absl::Time deadline,
                   const TraceContext& trace, Done<ArticleWithStats> done);

  // A page of articles as stored, newest first, with the page's stats from one batched call (none
  // for those analytics did not answer for in time), and the next page's token.
  void ListArticles(const content_v1::ListArticlesRequest& request, absl::Time deadline,
                    const TraceContext& trace, Done<ArticlePageWithStats> done);

  // The most read live articles of a period. Their bytes are granted as each round of the ranking
  // finds them, before their stats are fetched.
  void ListMostReadArticles(const content_v1::ListMostReadArticlesRequest& request,
                            absl::Time deadline, const TraceContext& trace,
                            Done<MostReadPage> done);

  // The article names a WatchArticleReadStats request watches, validated, in request order without
  // duplicates: INVALID_ARGUMENT naming `names` or `names[i]`, NOT_FOUND naming an article that
  // does not exist, or the store's error.
  [[nodiscard]] absl::StatusOr<std::vector<std::string>> WatchedArticleNames(
      const content_v1::WatchArticleReadStatsRequest& request);

  [[nodiscard]] absl::StatusOr<content_v1::Article> CreateArticle(
      const content_v1::CreateArticleRequest& request);
  [[nodiscard]] absl::StatusOr<content_v1::Article> UpdateArticle(
      const content_v1::UpdateArticleRequest& request);
  [[nodiscard]] absl::Status DeleteArticle(const content_v1::DeleteArticleRequest& request);

  // Stores `article` as CreateArticle would, keeping its name and publish_time; used to load the
  // sample articles. Validates it the same way.
  [[nodiscard]] absl::Status ImportArticle(const content_v1::Article& article);

 private:
  // When to give up on analytics for a request whose own deadline is `caller_deadline`.
  absl::Time AnalyticsDeadline(absl::Time caller_deadline) const;

  // Completes a read once analytics answered: caches and returns the stats, or queues the read.
  std::optional<analytics_v1::ReadStats> AfterRecordRead(
      analytics_v1::RecordReadRequest read, absl::Time sent, const TraceContext& trace,
      absl::StatusOr<analytics_v1::ReadStats> stats);

  // A grant of a response's `response_bytes`, or RESOURCE_EXHAUSTED when they would take the bytes
  // the responses in flight hold past max_response_bytes_in_flight (see MemoryBudget).
  absl::StatusOr<MemoryBudget::Grant> GrantResponseBytes(std::size_t response_bytes);

  // Adds `bytes` to `grant`, for a response built in rounds, or RESOURCE_EXHAUSTED as
  // GrantResponseBytes (its own bytes never count against it; see MemoryBudget::TryGrow).
  absl::Status GrowResponseGrant(MemoryBudget::Grant& grant, std::size_t bytes);

  // A hold on the bytes of `article` for a GetArticle or ReadArticle response, counted once
  // however many responses hold the same bytes at once, or RESOURCE_EXHAUSTED as
  // GrantResponseBytes. What each response adds to them (its read_stats field, about 100 bytes)
  // is not counted: max_in_flight_calls bounds it.
  absl::StatusOr<MemoryBudget::SharedHold> HoldArticleBytes(const StoredArticle& article);

  // The RESOURCE_EXHAUSTED of a response of `bytes` that the budget refused.
  absl::Status ResponseBytesRefused(std::int64_t bytes) const;

  using StatsList = std::vector<std::optional<analytics_v1::ReadStats>>;

  // The read stats of the articles named `names`, in that order: from the cache when fresh,
  // otherwise from one batched call; nullopt for those analytics could not answer for.
  void FetchStats(std::vector<std::string> names, absl::Time deadline, const TraceContext& trace,
                  absl::AnyInvocable<void(StatsList) &&> then);

  // Fills in `read_stats` of every article in `articles` (see FetchStats), then passes them on. For
  // ListMostReadArticles, whose articles are parsed.
  void AttachStats(std::vector<content_v1::Article> articles, absl::Time deadline,
                   const TraceContext& trace,
                   absl::AnyInvocable<void(std::vector<content_v1::Article>) &&> then);

  ArticleStore* const store_;
  AnalyticsClient* const analytics_;
  PendingReads* const pending_reads_;
  const ContentServiceOptions options_;
  MemoryBudget response_budget_;
  ReadStatsCache stats_cache_;
  StatsRefresher stats_refresher_;
  std::unique_ptr<StatsFeed> stats_feed_;  // null without options.stats_feed
  ReadCoalescer read_coalescer_;
  // Last, so it is destroyed first: the destructor waits on it before anything a callback uses.
  CallbacksInFlight callbacks_;
};

}  // namespace newsroom::content
