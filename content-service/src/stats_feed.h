#pragma once

#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content-service/src/analytics_client.h"
#include "content-service/src/read_stats_cache.h"

namespace newsroom::content {

// Keeps the read-stats cache current from analytics-service's WatchReadStatsChanges stream: every
// article whose stats change arrives there, so cached stats need no refetching as they age (see
// ReadStatsCache). One stream at a time, reopened after it ends, waiting 100 ms, doubling to 5 s,
// between failed attempts; a server without the RPC (UNIMPLEMENTED) is not asked again.
class StatsFeed final {
 public:
  // Opens the stream at once, from a thread of its own. `analytics` and `cache` are not owned and
  // must outlive this object.
  StatsFeed(AnalyticsClient* analytics, ReadStatsCache* cache);
  // Ends the stream and waits for it.
  ~StatsFeed();
  StatsFeed(const StatsFeed&) = delete;
  StatsFeed& operator=(const StatsFeed&) = delete;

 private:
  void Run();

  AnalyticsClient* const analytics_;
  ReadStatsCache* const cache_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<AnalyticsClient::ReadStatsWatch> stream_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace newsroom::content
