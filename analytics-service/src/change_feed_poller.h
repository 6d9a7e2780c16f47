#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "analytics-service/src/change_feed_hub.h"
#include "analytics-service/src/read_counter.h"

namespace newsroom::analytics {

// The one reader of the change log in a process, behind WatchReadStatsChanges: while a stream is
// open, once per `interval` it asks the log which articles changed since its last position,
// fetches their counts and publishes them to the hub (an empty publish when nothing changed).
//
// Every replica's record script appends to the same log in Redis, so the streams of any replica
// see every read. The position is the log's own counter, not a clock, so clock steps cannot hide a
// change. When the log cannot be read, or was lost (its id changed: Redis lost data), changes may
// have been missed: every open stream is ended (UNAVAILABLE, so callers reconnect and fetch again
// what they hold) and reading starts over from the head. With no stream open nothing is read.
//
// Changed articles are fetched with GetRecent, so an article with many reads may have a unique
// readers count kept from before its last readers (RedisReadCounterOptions::readers_count_kept_from
// and readers_count_max_age). So once such an article has gone `settle.after` without changing,
// its counts are fetched once more, counted now (Get), and published if they differ from those
// published last: a stream always ends up with every article's current counts. `settle.after` is
// the kept count's maximum age, so that an article read all the time is not counted afresh
// between its reads.
class ChangeFeedPoller final {
 public:
  struct Settle {
    absl::Duration after;  // quiet this long: fetched once more
    int64_t from_reads;    // only articles with at least this many reads (fewer: never kept)
  };

  // Starts the thread. `hub` and `counter` are not owned and must outlive this object.
  ChangeFeedPoller(ChangeFeedHub* hub, ReadCounter* counter, absl::Duration interval,
                   Settle settle);
  // Closes the hub (UNAVAILABLE) and joins the thread.
  ~ChangeFeedPoller();
  ChangeFeedPoller(const ChangeFeedPoller&) = delete;
  ChangeFeedPoller& operator=(const ChangeFeedPoller&) = delete;

 private:
  void Run();
  // Reads the log once and publishes what changed; returns the error that ended the streams.
  absl::Status PollOnce();

  ChangeFeedHub* const hub_;
  ReadCounter* const counter_;
  const absl::Duration interval_;
  // What was published for an article that changed within `settle.after`, and when to look again.
  struct Settling {
    ArticleCounts published;
    absl::Time due;
  };

  const Settle settle_;
  absl::flat_hash_map<std::string, Settling> settling_;  // poller thread only
  std::optional<int64_t> next_position_;  // poller thread only; unset: start from the head
  std::string log_id_;                    // poller thread only: the log next_position_ is in
  std::uint64_t failures_ = 0;            // poller thread only
  std::thread thread_;
};

}  // namespace newsroom::analytics
