#include "content-service/src/stats_feed.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/src/log.h"
#include "common/src/trace_context.h"

namespace newsroom::content {

StatsFeed::StatsFeed(AnalyticsClient* analytics, ReadStatsCache* cache)
    : analytics_(analytics), cache_(cache), thread_([this] { Run(); }) {}

StatsFeed::~StatsFeed() {
  std::shared_ptr<AnalyticsClient::ReadStatsWatch> stream;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    stream = stream_;
  }
  if (stream != nullptr) stream->Cancel();
  thread_.join();
}

void StatsFeed::Run() {
  constexpr absl::Duration kFirstBackoff = absl::Milliseconds(100);
  constexpr absl::Duration kMaxBackoff = absl::Seconds(5);
  absl::Duration backoff = kFirstBackoff;
  while (true) {
    auto delivered = std::make_shared<bool>(false);  // the callbacks may outlive this iteration
    absl::Notification ended;
    absl::Status status;
    AnalyticsClient::WatchCallbacks callbacks;
    callbacks.on_update = [this, delivered](std::vector<analytics_v1::ReadStats> changed) {
      const absl::Time now = absl::Now();
      for (const auto& stats : changed) cache_->Put(stats, now);
      // After the Puts: an entry counts as covered only once the changes before it are in.
      cache_->FeedMessage(now, /*first=*/!*delivered);
      *delivered = true;
    };
    callbacks.on_done = [this, &ended, &status](absl::Status end) {
      cache_->FeedLost();
      status = std::move(end);
      ended.Notify();
    };
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    // A trace of its own, never sampled: the stream is long-lived background work.
    auto stream = analytics_->WatchReadStatsChanges(NewTrace(0), std::move(callbacks));
    {
      absl::MutexLock lock(&mu_);
      stream_ = stream;
      if (stopping_) stream->Cancel();
    }
    ended.WaitForNotification();
    {
      absl::MutexLock lock(&mu_);
      stream_.reset();
      if (stopping_) return;
    }
    if (status.code() == absl::StatusCode::kUnimplemented) {
      log::Warning("analytics-service has no change feed; read stats are refetched as they age",
                   {{"error", status.ToString()}});
      return;
    }
    // A stream that delivered was healthy: reconnect at once (connection recycling ends streams).
    if (*delivered) {
      backoff = kFirstBackoff;
      continue;
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
    if (stopping_) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace newsroom::content
