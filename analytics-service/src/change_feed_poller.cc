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
                                   absl::Duration interval)
    : hub_(hub), counter_(counter), interval_(interval), thread_([this] { Run(); }) {}

ChangeFeedPoller::~ChangeFeedPoller() {
  hub_->Close(absl::UnavailableError("server is shutting down; reconnect"));
  thread_.join();
}

void ChangeFeedPoller::Run() {
  absl::Time next_poll = absl::Now();
  while (!hub_->closed()) {
    if (!hub_->WaitForStreams(absl::Now() + absl::Seconds(1))) {
      next_position_.reset();  // nobody listens: the next stream starts from the head
      continue;
    }
    absl::SleepFor(next_poll - absl::Now());
    if (hub_->closed()) return;
    // The next tick on the schedule, or a whole interval from now after a slow poll.
    next_poll = std::max(next_poll + interval_, absl::Now());
    const absl::Status status = PollOnce();
    if (status.ok()) continue;
    next_position_.reset();
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
  absl::StatusOr<std::vector<ArticleCounts>> counts = FetchCounts(*counter_, changed->article_ids);
  if (!counts.ok()) return counts.status();
  hub_->Publish(changed->article_ids, *counts);
  return absl::OkStatus();
}

}  // namespace newsroom::analytics
