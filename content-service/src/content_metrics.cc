#include "content-service/src/content_metrics.h"

#include <vector>

namespace newsroom::content {

using metrics::MetricType;
using metrics::Sample;

void AddContentMetrics(metrics::MetricsRegistry& registry, const PendingReads* pending_reads,
                       const CachedArticleStore* cache) {
  registry.AddCallback(
      "newsroom_content_reads_queued_total",
      "Reads saved to the durable outbox because analytics-service did not "
      "acknowledge them in time.",
      MetricType::kCounter, [pending_reads] {
        return std::vector<Sample>{{.value = double(pending_reads->counters().enqueued)}};
      });
  registry.AddCallback(
      "newsroom_content_reads_delivered_total",
      "Reads from the outbox that analytics-service later acknowledged.", MetricType::kCounter,
      [pending_reads] {
        return std::vector<Sample>{{.value = double(pending_reads->counters().delivered)}};
      });
  registry.AddCallback(
      "newsroom_content_reads_dropped_total",
      "Reads given up on, by reason: full (outbox at --max_pending_reads), expired (waited "
      "--max_pending_read_age), rejected (analytics-service refused it as invalid), unsaved "
      "(the outbox could not store it).",
      MetricType::kCounter, [pending_reads] {
        const PendingReadsCounters c = pending_reads->counters();
        return std::vector<Sample>{{{{"reason", "full"}}, double(c.dropped_full)},
                                   {{{"reason", "expired"}}, double(c.dropped_expired)},
                                   {{{"reason", "rejected"}}, double(c.dropped_rejected)},
                                   {{{"reason", "unsaved"}}, double(c.dropped_unsaved)}};
      });
  registry.AddCallback(
      "newsroom_content_outbox_reads", "Reads waiting in the outbox now.", MetricType::kGauge,
      [pending_reads] {
        return std::vector<Sample>{{.value = double(pending_reads->counters().pending)}};
      });
  registry.AddCallback(
      "newsroom_content_outbox_oldest_read_age_seconds",
      "How long the oldest read in the outbox has waited, in seconds; 0 when it is empty.",
      MetricType::kGauge, [pending_reads] {
        return std::vector<Sample>{{.value = absl::ToDoubleSeconds(pending_reads->OldestAge())}};
      });
  if (cache == nullptr) return;
  registry.AddCallback(
      "newsroom_content_article_cache_hits_total",
      "Article lookups answered from the in-memory cache.", MetricType::kCounter,
      [cache] { return std::vector<Sample>{{.value = double(cache->counters().hits)}}; });
  registry.AddCallback(
      "newsroom_content_article_cache_misses_total",
      "Article lookups the cache did not hold, answered by the database.", MetricType::kCounter,
      [cache] { return std::vector<Sample>{{.value = double(cache->counters().misses)}}; });
  registry.AddCallback(
      "newsroom_content_article_cache_bytes",
      "Serialized size of the cached articles, in bytes (bounded by --article_cache_bytes).",
      MetricType::kGauge,
      [cache] { return std::vector<Sample>{{.value = double(cache->counters().bytes)}}; });
  registry.AddCallback(
      "newsroom_content_listing_cache_hits_total",
      "ListArticles pages answered from the in-memory cache.", MetricType::kCounter,
      [cache] { return std::vector<Sample>{{.value = double(cache->counters().listing_hits)}}; });
  registry.AddCallback(
      "newsroom_content_listing_cache_misses_total",
      "ListArticles pages the cache did not hold, read from the database.", MetricType::kCounter,
      [cache] { return std::vector<Sample>{{.value = double(cache->counters().listing_misses)}}; });
  registry.AddCallback(
      "newsroom_content_listing_cache_waits_total",
      "ListArticles calls that waited for another's read of where announced changes moved "
      "articles, rather than read the database.",
      MetricType::kCounter,
      [cache] { return std::vector<Sample>{{.value = double(cache->counters().listing_waits)}}; });
  registry.AddCallback(
      "newsroom_content_listing_cache_bytes",
      "Size of the cached ListArticles pages, in bytes, counting every article's bytes (bounded by "
      "--listing_cache_bytes).",
      MetricType::kGauge,
      [cache] { return std::vector<Sample>{{.value = double(cache->counters().listing_bytes)}}; });
  registry.AddCallback(
      "newsroom_content_article_cache_suspended",
      "1 while the article cache serves nothing because other replicas' changes may go "
      "unannounced (PostgreSQL's change listener is reconnecting), else 0.",
      MetricType::kGauge,
      [cache] { return std::vector<Sample>{{.value = cache->counters().suspended ? 1.0 : 0.0}}; });
}

}  // namespace newsroom::content
