#include "content-service/src/stats_refresher.h"

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "tests/content-service/unused_analytics.h"

namespace newsroom::content {
namespace {

// Pure-logic stand-in for analytics-service's BatchGetReadStats: answers at once, with `reads`
// equal to the number of calls so far, or with an error.
class CountingAnalytics final : public UnusedAnalytics {
 public:
  void BatchGetReadStats(std::vector<std::string> articles, absl::Time, const TraceContext&,
                         Callback<std::vector<analytics_v1::ReadStats>> done) override {
    absl::Status reply;
    int calls;
    {
      absl::MutexLock lock(&mutex_);
      calls = ++calls_;
      reply = reply_;
      batch_sizes_.push_back(articles.size());
    }
    if (!reply.ok()) return std::move(done)(reply);
    std::vector<analytics_v1::ReadStats> stats;
    for (const std::string& article : articles) {
      stats.emplace_back().set_article(article);
      stats.back().set_reads(100 + calls);
    }
    std::move(done)(std::move(stats));
  }

  void Fail() {
    absl::MutexLock lock(&mutex_);
    reply_ = absl::UnavailableError("analytics is down");
  }
  int calls() {
    absl::MutexLock lock(&mutex_);
    return calls_;
  }

 private:
  absl::Mutex mutex_;
  absl::Status reply_ ABSL_GUARDED_BY(mutex_);
  int calls_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<std::size_t> batch_sizes_ ABSL_GUARDED_BY(mutex_);
};

template <typename F>
bool Eventually(F condition) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!condition()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

TEST(StatsRefresherTest, FetchesRequestedArticlesIntoTheCache) {
  CountingAnalytics analytics;
  ReadStatsCache cache(absl::Seconds(10), 100);
  StatsRefresher refresher(&analytics, &cache, absl::Seconds(1));
  refresher.Request("articles/a");
  refresher.Request("articles/b");
  ASSERT_TRUE(Eventually([&] {
    return cache.Fresh("articles/a", absl::Now()) && cache.Fresh("articles/b", absl::Now());
  }));
  EXPECT_GE(cache.Fresh("articles/a", absl::Now())->reads(), 101);
  EXPECT_LE(analytics.calls(), 2);  // batched: one call, or two if the second came late
}

TEST(StatsRefresherTest, BacksOffWhileAnalyticsFails) {
  CountingAnalytics analytics;
  analytics.Fail();
  ReadStatsCache cache(absl::Seconds(10), 100);
  StatsRefresher refresher(&analytics, &cache, absl::Seconds(1));
  // Callers keep asking as fast as they can for 300 ms; without a pause after each failure the
  // refresher would make thousands of calls, with it a handful (100 ms, then 200 ms, ...).
  const absl::Time until = absl::Now() + absl::Milliseconds(300);
  while (absl::Now() < until) refresher.Request("articles/a");
  EXPECT_GE(analytics.calls(), 1);
  EXPECT_LT(analytics.calls(), 50);
}

}  // namespace
}  // namespace newsroom::content
