#include "analytics-service/src/read_stats_poller.h"

#include <algorithm>
#include <utility>

#include "common/src/log.h"

namespace newsroom::analytics {

absl::StatusOr<std::vector<ArticleCounts>> FetchCounts(ReadCounter& counter,
                                                       const std::vector<std::string>& article_ids,
                                                       Counting counting) {
  const std::size_t chunks = (article_ids.size() + kArticlesPerFetch - 1) / kArticlesPerFetch;
  std::vector<ArticleCounts> counts(article_ids.size());
  absl::Mutex mu;
  std::size_t outstanding = chunks;
  absl::Status status;
  for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
    const std::size_t begin = chunk * kArticlesPerFetch;
    const std::size_t end = std::min(begin + kArticlesPerFetch, article_ids.size());
    std::vector<std::string> ids(article_ids.begin() + begin, article_ids.begin() + end);
    auto done = [&, begin](absl::StatusOr<std::vector<ArticleCounts>> result) {
      absl::MutexLock lock(&mu);
      if (result.ok()) {
        std::copy(result->begin(), result->end(), counts.begin() + begin);
      } else if (status.ok()) {
        status = result.status();
      }
      --outstanding;
    };
    if (counting == Counting::kRecent) {
      counter.GetRecent(std::move(ids), std::move(done));
    } else {
      counter.Get(std::move(ids), std::move(done));
    }
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](std::size_t* left) { return *left == 0; }, &outstanding));
  if (!status.ok()) return status;
  return counts;
}

ReadStatsPoller::ReadStatsPoller(WatchHub* hub, ReadCounter* counter, absl::Duration interval)
    : hub_(hub), counter_(counter), interval_(interval), thread_([this] { Run(); }) {}

ReadStatsPoller::~ReadStatsPoller() {
  hub_->Close(absl::UnavailableError("server is shutting down; reconnect"));
  thread_.join();
}

void ReadStatsPoller::Run() {
  absl::Time next_poll = absl::Now() + interval_;
  while (!hub_->closed()) {
    const bool unknown = hub_->WaitForUnknownArticles(next_poll);
    if (hub_->closed()) return;
    std::vector<std::string> article_ids;
    const absl::Time now = absl::Now();
    if (now >= next_poll) {
      article_ids = hub_->WatchedArticles();
      // The next tick on the schedule, or a whole interval from now after a slow fetch.
      next_poll = std::max(next_poll + interval_, now);
    } else if (unknown) {
      article_ids = hub_->UnknownArticles();
    }
    if (article_ids.empty()) continue;
    absl::StatusOr<std::vector<ArticleCounts>> counts = FetchCounts(*counter_, article_ids);
    if (counts.ok()) {
      hub_->Publish(article_ids, *counts);
      continue;
    }
    ++failures_;
    if ((failures_ & (failures_ - 1)) == 0) {  // powers of two: an outage cannot flood the log
      log::Error("watch poll failed",
                 {{"failures_so_far", failures_}, {"error", counts.status().message()}});
    }
    hub_->FetchFailed(article_ids, absl::UnavailableError(
                                       "cannot read the stats: Redis is unreachable; retry later"));
    // New watchers of the same articles would otherwise retry at once, in a loop.
    absl::SleepFor(std::min(interval_, absl::Milliseconds(100)));
  }
}

}  // namespace newsroom::analytics
