#include "analytics-service/src/change_feed_poller.h"

#include <utility>

#include "absl/synchronization/notification.h"
#include "analytics-service/src/read_stats_poller.h"
#include "common/src/log.h"

namespace newsroom::analytics {
namespace {

// Runs `start` (which calls its argument exactly once) and waits for its result.
template <typename T, typename Start>
absl::StatusOr<T> Wait(Start start) {
  absl::StatusOr<T> result = absl::UnknownError("no reply");
  absl::Notification done;
  start([&](absl::StatusOr<T> reply) {
    result = std::move(reply);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

}  // namespace

ChangeFeedPoller::ChangeFeedPoller(ChangeFeedHub* hub, ReadCounter* counter,
                                   absl::Duration interval, absl::Duration settle)
    : hub_(hub), counter_(counter), interval_(interval), settle_(settle), thread_([this] {
        Run();
      }) {}

ChangeFeedPoller::~ChangeFeedPoller() {
  hub_->Close(absl::UnavailableError("server is shutting down; reconnect"));
  thread_.join();
}

void ChangeFeedPoller::Run() {
  absl::Time next_poll = absl::Now();
  while (!hub_->closed()) {
    if (!hub_->WaitForStreams(absl::Now() + absl::Seconds(1))) {
      next_position_.reset();  // nobody listens: the next stream starts from the head
      settling_.clear();
      continue;
    }
    absl::SleepFor(next_poll - absl::Now());
    if (hub_->closed()) return;
    // The next tick on the schedule, or a whole interval from now after a slow poll.
    next_poll = std::max(next_poll + interval_, absl::Now());
    const absl::Status status = PollOnce();
    if (status.ok()) continue;
    next_position_.reset();
    settling_.clear();  // the streams end: new ones fetch every count afresh
    ++failures_;
    if ((failures_ & (failures_ - 1)) == 0) {  // powers of two: an outage cannot flood the log
      log::Error("change log poll failed; change streams ended",
                 {{"failures", failures_}, {"error", status.ToString()}});
    }
    hub_->EndAll(absl::UnavailableError(
        "cannot read the change log: Redis is unreachable; reconnect later"));
  }
}

absl::Status ChangeFeedPoller::PollOnce() {
  absl::StatusOr<ChangedArticles> changed = Wait<ChangedArticles>(
      [&](auto done) { counter_->ChangedSince(next_position_, std::move(done)); });
  if (!changed.ok()) return changed.status();
  if (next_position_.has_value() &&
      (changed->log_id != log_id_ || changed->head < *next_position_ - 1)) {
    return absl::DataLossError("the change log was lost; Redis lost data");
  }
  const bool first = !next_position_.has_value();
  next_position_ = changed->head + 1;
  log_id_ = changed->log_id;
  if (first) {
    // Only the head was read: streams are current from here on, with nothing to report yet.
    hub_->Publish({}, {});
    return absl::OkStatus();
  }
  // The changed articles, then those that have not changed for `settle`: looked at once more.
  const absl::Time now = absl::Now();
  std::vector<std::string> article_ids = std::move(changed->article_ids);
  const std::size_t changed_count = article_ids.size();
  for (std::size_t i = 0; i < changed_count; ++i) settling_.erase(article_ids[i]);
  for (auto it = settling_.begin(); it != settling_.end();) {
    if (it->second.due > now) {
      ++it;
      continue;
    }
    article_ids.push_back(it->first);
    ++it;
  }
  absl::StatusOr<std::vector<ArticleCounts>> counts = FetchCounts(*counter_, article_ids);
  if (!counts.ok()) return counts.status();
  // Published: every changed article, and each settled one whose counts are not those published.
  std::vector<std::string> published_ids;
  std::vector<ArticleCounts> published_counts;
  published_ids.reserve(article_ids.size());
  published_counts.reserve(article_ids.size());
  for (std::size_t i = 0; i < article_ids.size(); ++i) {
    const ArticleCounts& now_counts = (*counts)[i];
    if (i < changed_count) {
      settling_[article_ids[i]] = {.published = now_counts, .due = now + settle_};
    } else {
      const auto it = settling_.find(article_ids[i]);
      const bool unchanged = it->second.published == now_counts;
      settling_.erase(it);
      if (unchanged) continue;
    }
    published_ids.push_back(std::move(article_ids[i]));
    published_counts.push_back(now_counts);
  }
  hub_->Publish(published_ids, published_counts);
  return absl::OkStatus();
}

}  // namespace newsroom::analytics
