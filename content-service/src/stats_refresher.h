#pragma once

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content-service/src/analytics_client.h"
#include "content-service/src/read_stats_cache.h"

namespace newsroom::content {

// Refreshes cached read stats ahead of their expiry, off the request path: callers name articles
// whose stats are due (ReadStatsCache reports each entry due once, so one request per refresh),
// and one background thread fetches them, many per BatchGetReadStats call, one call at a time.
// After a failed call it waits (100 ms, doubling to 1 s) before the next, so an outage costs
// analytics no storm of calls; entries that could not be refreshed expire and are fetched on
// demand.
class StatsRefresher final {
 public:
  // Up to this many articles per call (analytics accepts 1000).
  static constexpr std::size_t kMaxBatch = 1000;

  // `analytics` and `cache` are not owned and must outlive this object. Each call gets
  // `call_timeout`, which should be well under the cache's max age.
  StatsRefresher(AnalyticsClient* analytics, ReadStatsCache* cache, absl::Duration call_timeout);
  ~StatsRefresher();
  StatsRefresher(const StatsRefresher&) = delete;
  StatsRefresher& operator=(const StatsRefresher&) = delete;

  // Asks for `article`'s stats to be fetched soon. Cheap and non-blocking.
  void Request(const std::string& article);

 private:
  void Loop();

  AnalyticsClient* const analytics_;
  ReadStatsCache* const cache_;
  const absl::Duration call_timeout_;

  absl::Mutex mutex_;
  absl::flat_hash_set<std::string> wanted_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread thread_;
};

}  // namespace newsroom::content
