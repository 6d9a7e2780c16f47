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
                                   absl::Duration interval, Settle settle)
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
  const absl::Time now = absl::Now();
  std::vector<std::string> changed_ids = std::move(changed->article_ids);
  for (const std::string& id : changed_ids) settling_.erase(id);
  // Articles quiet for `settle.after` since their last published change: counted now.
  std::vector<std::string> settled_ids;
  for (const auto& [id, settling] : settling_) {
    if (settling.due <= now) settled_ids.push_back(id);
  }
  absl::StatusOr<std::vector<ArticleCounts>> changed_counts =
      FetchCounts(*counter_, changed_ids, Counting::kRecent);
  if (!changed_counts.ok()) return changed_counts.status();
  absl::StatusOr<std::vector<ArticleCounts>> settled_counts =
      FetchCounts(*counter_, settled_ids, Counting::kCurrent);
  if (!settled_counts.ok()) return settled_counts.status();

  // Published: every changed article, and each settled one whose counts are not those published.
  std::vector<std::string> published_ids;
  std::vector<ArticleCounts> published_counts;
  published_ids.reserve(changed_ids.size() + settled_ids.size());
  published_counts.reserve(changed_ids.size() + settled_ids.size());
  for (std::size_t i = 0; i < changed_ids.size(); ++i) {
    const ArticleCounts& counts = (*changed_counts)[i];
    if (counts.reads >= settle_.from_reads) {
      settling_[changed_ids[i]] = {.published = counts, .due = now + settle_.after};
    }
    published_ids.push_back(std::move(changed_ids[i]));
    published_counts.push_back(counts);
  }
  for (std::size_t i = 0; i < settled_ids.size(); ++i) {
    const auto it = settling_.find(settled_ids[i]);
    const bool unchanged = it->second.published == (*settled_counts)[i];
    settling_.erase(it);
    if (unchanged) continue;
    published_ids.push_back(std::move(settled_ids[i]));
    published_counts.push_back((*settled_counts)[i]);
  }
  hub_->Publish(published_ids, published_counts);
  return absl::OkStatus();
}

}  // namespace newsroom::analytics
