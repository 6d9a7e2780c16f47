#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "analytics-service/src/read_counter.h"
#include "analytics-service/src/redis_health_monitor.h"
#include "analytics-service/src/redis_read_counter.h"
#include "common/src/metrics.h"

namespace newsroom::analytics {

// A ReadCounter that counts the outcome of every read passed to `inner`'s Record in
// newsroom_analytics_reads_total{result}: recorded (counted now), duplicate (its read_id was
// already counted) or failed (Redis did not count it; the caller retries). Two atomic adds per
// call; Get, GetRecent, Rank and ChangedSince pass straight through.
class CountingReadCounter final : public ReadCounter {
 public:
  CountingReadCounter(std::unique_ptr<ReadCounter> inner, metrics::MetricsRegistry& registry);

  void Record(std::vector<Read> reads, Callback<std::vector<RecordOutcome>> done) override;
  void Get(std::vector<std::string> article_ids,
           Callback<std::vector<ArticleCounts>> done) override;
  void GetRecent(std::vector<std::string> article_ids,
                 Callback<std::vector<ArticleCounts>> done) override;
  void Rank(RankingQuery query, Callback<RankingPage> done) override;
  void ChangedSince(std::optional<int64_t> from, Callback<ChangedArticles> done) override;

 private:
  const std::unique_ptr<ReadCounter> inner_;
  metrics::Counter& recorded_;
  metrics::Counter& duplicate_;
  metrics::Counter& failed_;
};

// Registers the Redis round-trip series (pipeline latency, commands, connection errors, error
// replies) and returns where RedisReadCounter records them.
[[nodiscard]] RedisMetrics AddRedisMetrics(metrics::MetricsRegistry& registry);

// Registers newsroom_analytics_redis_up (1 while the health monitor's PING succeeds) and returns
// it.
[[nodiscard]] metrics::Gauge& AddRedisUp(metrics::MetricsRegistry& registry);

// Registers newsroom_analytics_redis_used_memory_bytes and newsroom_analytics_redis_maxmemory_bytes
// (what the health monitor last read from INFO memory; 0 until it has read them; a maxmemory of 0
// means no limit) and returns the function that sets them.
[[nodiscard]] std::function<void(RedisMemory)> AddRedisMemory(metrics::MetricsRegistry& registry);

// Registers newsroom_analytics_top_article_reads{article_id}: today's (UTC) ten most read
// articles and their reads today, asked of `counter` at each scrape (one Redis round trip, at
// most 1 s; nothing when it fails). Ten series at a time, so article ids cannot blow up the
// series count. `counter` must outlive the registry's scrapes.
void AddTopArticles(metrics::MetricsRegistry& registry, ReadCounter* counter);

}  // namespace newsroom::analytics
