#pragma once

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "analytics-service/src/read_counter.h"
#include "analytics-service/src/watch_hub.h"

namespace newsroom::analytics {

// The one poller of a process behind WatchReadStats: once per `interval` it fetches the counts of
// every watched article (the union over all watchers) with batched ReadCounter::GetRecent calls
// (one pipelined round trip per 500 articles; a popular article's readers as kept for up to a
// second, counted again on a later interval) and publishes them to the hub, which fans out what
// changed. Articles of a new watcher that no one watched before are fetched at once, so its
// snapshot does not wait for the interval. Fetches run one at a time on the poller's thread, so
// each publishes counts at least as new as the one before.
// Articles per ReadCounter::GetRecent (or Get) call when fetching many.
inline constexpr std::size_t kArticlesPerFetch = 500;

// Which counts FetchCounts asks for.
enum class Counting {
  kRecent,   // ReadCounter::GetRecent: a popular article's unique readers may be up to a second old
  kCurrent,  // ReadCounter::Get: every count made now
};

// The counts of `article_ids`, in order, or the first error: kArticlesPerFetch articles per call,
// all sent at once, waiting for every reply. For the pollers' threads.
[[nodiscard]] absl::StatusOr<std::vector<ArticleCounts>> FetchCounts(
    ReadCounter& counter, const std::vector<std::string>& article_ids,
    Counting counting = Counting::kRecent);

class ReadStatsPoller final {
 public:
  // Starts the thread. `hub` and `counter` are not owned and must outlive this object.
  ReadStatsPoller(WatchHub* hub, ReadCounter* counter, absl::Duration interval);
  // Closes the hub (UNAVAILABLE) and joins the thread.
  ~ReadStatsPoller();
  ReadStatsPoller(const ReadStatsPoller&) = delete;
  ReadStatsPoller& operator=(const ReadStatsPoller&) = delete;

 private:
  void Run();

  WatchHub* const hub_;
  ReadCounter* const counter_;
  const absl::Duration interval_;
  std::uint64_t failures_ = 0;  // poller thread only
  std::thread thread_;
};

}  // namespace newsroom::analytics
