#pragma once

#include "common/src/metrics.h"
#include "content-service/src/cached_article_store.h"
#include "content-service/src/pending_reads.h"

namespace newsroom::content {

// Registers content-service's own metrics, read from the objects that already keep them at each
// scrape (so the read path pays nothing more): the read outbox (reads queued, delivered, dropped
// by reason; its depth and the age of its oldest read) and the article cache (hits, misses, size;
// `cache` null when there is none). Both must outlive `registry`'s scrapes.
void AddContentMetrics(metrics::MetricsRegistry& registry, const PendingReads* pending_reads,
                       const CachedArticleStore* cache);

}  // namespace newsroom::content
