#include "content-service/src/stats_refresher.h"

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
    analytics_->BatchGetReadStats(
        std::move(batch), absl::Now() + call_timeout_,
        [this, &done](absl::StatusOr<std::vector<analytics_v1::ReadStats>> stats) {
          if (stats.ok()) {
            const absl::Time now = absl::Now();
            for (const auto& entry : *stats) cache_->Put(entry, now);
          }
          done.Notify();
        });
    done.WaitForNotification();
  }
}

}  // namespace newsroom::content
