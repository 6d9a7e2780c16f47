#include "content-service/src/stats_refresher.h"

#include <algorithm>
#include <vector>

#include "absl/synchronization/notification.h"

namespace newsroom::content {

StatsRefresher::StatsRefresher(AnalyticsClient* analytics, ReadStatsCache* cache,
                               absl::Duration call_timeout)
    : analytics_(analytics),
      cache_(cache),
      call_timeout_(call_timeout),
      thread_([this] { Loop(); }) {}

StatsRefresher::~StatsRefresher() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

void StatsRefresher::Request(const std::string& article) {
  absl::MutexLock lock(&mutex_);
  if (wanted_.size() < 16 * kMaxBatch)
    wanted_.insert(article);  // bounded: the rest is fetched on demand
}

void StatsRefresher::Loop() {
  absl::Duration backoff = absl::Milliseconds(100);
  while (true) {
    std::vector<std::string> batch;
    {
      absl::MutexLock lock(&mutex_);
      const auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
        return stopping_ || !wanted_.empty();
      };
      mutex_.Await(absl::Condition(&has_work));
      if (stopping_) return;
      for (auto it = wanted_.begin(); it != wanted_.end() && batch.size() < kMaxBatch;) {
        batch.push_back(*it);
        wanted_.erase(it++);
      }
    }
    // One call in flight at a time: requests arriving meanwhile gather into the next batch.
    absl::Notification done;
    bool ok = false;
    const absl::Time sent = absl::Now();
    // A trace of its own, not sampled: refreshes are frequent background work, not a caller's
    // call (analytics-service still logs the ones that fail).
    analytics_->BatchGetReadStats(
        std::move(batch), sent + call_timeout_, NewTrace(0),
        [this, &done, &ok, sent](absl::StatusOr<std::vector<analytics_v1::ReadStats>> stats) {
          if (stats.ok()) {
            for (const auto& entry : *stats) cache_->Put(entry, sent);
            ok = true;
          }
          done.Notify();
        });
    done.WaitForNotification();
    if (ok) {
      backoff = absl::Milliseconds(100);
      continue;
    }
    absl::MutexLock lock(&mutex_);
    const auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return stopping_; };
    mutex_.AwaitWithTimeout(absl::Condition(&stopping), backoff);
    backoff = std::min(backoff * 2, absl::Seconds(1));
  }
}

}  // namespace newsroom::content
