#include "analytics-service/src/analytics_metrics.h"

#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"

namespace newsroom::analytics {

namespace {
constexpr char kReadsName[] = "newsroom_analytics_reads_total";
constexpr char kReadsHelp[] =
    "Reads passed to Redis, by result: recorded (counted), duplicate (read_id already counted, "
    "nothing changed), failed (not counted; the caller retries).";
}  // namespace

CountingReadCounter::CountingReadCounter(std::unique_ptr<ReadCounter> inner,
                                         metrics::MetricsRegistry& registry)
    : inner_(std::move(inner)),
      recorded_(registry.AddCounter(kReadsName, kReadsHelp, {{"result", "recorded"}})),
      duplicate_(registry.AddCounter(kReadsName, kReadsHelp, {{"result", "duplicate"}})),
      failed_(registry.AddCounter(kReadsName, kReadsHelp, {{"result", "failed"}})) {}

void CountingReadCounter::Record(std::vector<Read> reads,
                                 Callback<std::vector<RecordOutcome>> done) {
  const std::size_t count = reads.size();
  inner_->Record(std::move(reads),
                 [this, count, done = std::move(done)](
                     absl::StatusOr<std::vector<RecordOutcome>> outcomes) mutable {
                   if (!outcomes.ok()) {
                     failed_.Increment(count);
                   } else {
                     std::uint64_t duplicates = 0;
                     for (const RecordOutcome& outcome : *outcomes)
                       duplicates += outcome.duplicate ? 1 : 0;
                     if (duplicates > 0) duplicate_.Increment(duplicates);
                     recorded_.Increment(outcomes->size() - duplicates);
                   }
                   std::move(done)(std::move(outcomes));
                 });
}

void CountingReadCounter::Get(std::vector<std::string> article_ids,
                              Callback<std::vector<ArticleCounts>> done) {
  inner_->Get(std::move(article_ids), std::move(done));
}

void CountingReadCounter::GetRecent(std::vector<std::string> article_ids,
                                    Callback<std::vector<ArticleCounts>> done) {
  inner_->GetRecent(std::move(article_ids), std::move(done));
}

void CountingReadCounter::Rank(RankingQuery query, Callback<RankingPage> done) {
  inner_->Rank(std::move(query), std::move(done));
}

void CountingReadCounter::ChangedSince(std::optional<int64_t> from,
                                       Callback<ChangedArticles> done) {
  inner_->ChangedSince(from, std::move(done));
}

RedisMetrics AddRedisMetrics(metrics::MetricsRegistry& registry) {
  RedisMetrics redis{
      .pipeline_seconds = &registry.AddHistogram(
          "newsroom_analytics_redis_pipeline_duration_seconds",
          "Time to send one pipeline of commands to Redis and read every reply, in seconds.",
          metrics::LatencyBuckets()),
      .commands = &registry.AddCounter("newsroom_analytics_redis_commands_total",
                                       "Commands sent to Redis (in pipelines)."),
      .connection_errors = &registry.AddCounter(
          "newsroom_analytics_redis_connection_errors_total",
          "Connects and pipelines that failed to reach Redis (refused, reset, timed out)."),
  };
  for (std::size_t kind = 0; kind < std::size(kErrorReplyKinds); ++kind) {
    redis.error_replies[kind] = &registry.AddCounter(
        "newsroom_analytics_redis_error_replies_total",
        "Commands Redis answered with an error reply (the read script's, per read), by kind: its "
        "first word (oom: Redis is full; noperm: its ACL lacks a command), or other.",
        {{"kind", std::string(kErrorReplyKinds[kind])}});
  }
  return redis;
}

metrics::Gauge& AddRedisUp(metrics::MetricsRegistry& registry) {
  metrics::Gauge& up = registry.AddGauge(
      "newsroom_analytics_redis_up",
      "1 while Redis answers the health monitor's PING (--health-check-interval), else 0.");
  up.Set(1);
  return up;
}

std::function<void(RedisMemory)> AddRedisMemory(metrics::MetricsRegistry& registry) {
  metrics::Gauge& used = registry.AddGauge(
      "newsroom_analytics_redis_used_memory_bytes",
      "Redis's used_memory (INFO memory), read every 10 s by the health monitor: what counts "
      "against maxmemory, dedup markers of the last --dedup-window included.");
  metrics::Gauge& max =
      registry.AddGauge("newsroom_analytics_redis_maxmemory_bytes",
                        "Redis's maxmemory (INFO memory), read with used_memory; 0: no limit.");
  return [&used, &max](RedisMemory memory) {
    used.Set(double(memory.used_bytes));
    max.Set(double(memory.max_bytes));
  };
}

void AddTopArticles(metrics::MetricsRegistry& registry, ReadCounter* counter) {
  registry.AddCallback(
      "newsroom_analytics_top_article_reads",
      "Reads today (UTC) of today's ten most read articles, by article_id; asked of Redis at "
      "each scrape.",
      metrics::MetricType::kGauge, [counter] {
        // Shared with the callback, which may run after a timed-out scrape has returned.
        struct Result {
          absl::Mutex mu;
          absl::Notification done;
          std::vector<metrics::Sample> samples;
        };
        auto result = std::make_shared<Result>();
        counter->Rank(RankingQuery{.days = {absl::ToCivilDay(absl::Now(), absl::UTCTimeZone())},
                                   .offset = 0,
                                   .limit = 10},
                      [result](absl::StatusOr<RankingPage> page) {
                        if (page.ok()) {
                          absl::MutexLock lock(&result->mu);
                          for (const RankedArticleCount& article : page->articles) {
                            result->samples.push_back(
                                {{{"article_id", article.article_id}}, double(article.reads)});
                          }
                        }
                        result->done.Notify();
                      });
        if (!result->done.WaitForNotificationWithTimeout(absl::Seconds(1)))
          return std::vector<metrics::Sample>();
        absl::MutexLock lock(&result->mu);
        return result->samples;
      });
}

}  // namespace newsroom::analytics
