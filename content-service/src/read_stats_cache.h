#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "newsroom/analytics/v1/analytics_service.pb.h"

namespace newsroom::content {

// Read stats recently seen from analytics-service, so that GetArticle and ListArticles can answer
// without a round trip when the stats are at most `max_age` old. Past half that age an entry is
// still served but due for a refresh (see StatsRefresher), so that an article read steadily never
// waits for analytics. ReadArticle always goes to analytics (its count must include the read) and
// refreshes the entry with what it got back. Sharded so that concurrent calls rarely share a lock.
//
// With a live change feed (StatsFeed: analytics-service's WatchReadStatsChanges, which reports
// every article whose stats change) entries do not age: an entry fetched after the feed went live
// stays current as long as the feed's messages keep arriving (at least every max_age / 2), since
// any change to it arrives through the feed. So the cost of a page view does not grow with the
// catalogue: stats are fetched once per article, not once per article per max_age. When the feed
// breaks, the entries it covered age from its last message, so the StatsRefresher brings those
// still read up to date in the background.
class ReadStatsCache final {
 public:
  // `max_age` zero disables the cache. At most `max_entries` articles are kept (at least one a
  // shard).
  ReadStatsCache(absl::Duration max_age, std::size_t max_entries);

  // A cap at which every shard's table stays at 8191 slots (absl's capacities are 2^n - 1), 64
  // bytes each, while entries are evicted and replaced: absl drops an erased entry's tombstone by
  // rehashing the table in place only while it is at most 25/32 full, and doubles the table
  // otherwise. (Put erases before it inserts, so one entry a shard more would still fit; two would
  // not.) A cap of 120 000 (7501 a shard) doubled every table, 8.4 MB to 17 MB.
  static constexpr std::size_t kEntriesPerShardAt8191Slots = 8191 * 25 / 32;  // 6399
  static constexpr std::size_t kEntriesAt8191Slots = 16 * kEntriesPerShardAt8191Slots;

  // Slots the shards' tables have allocated, filled or not: with the keys' own heap bytes, what
  // the cache costs in memory.
  [[nodiscard]] std::size_t SlotCount();

  // The stats of `article` if current (see above) or seen no longer than max_age before `now`.
  // Sets `*due_for_refresh` (when given) if they are aging and older than half of max_age and
  // nobody was told so since the last Put: each entry is reported due once, so that one refresh
  // is asked for however many calls read it.
  [[nodiscard]] std::optional<analytics::v1::ReadStats> Fresh(const std::string& article,
                                                              absl::Time now,
                                                              bool* due_for_refresh = nullptr);

  // Remembers `stats` as current at `seen` (the time the request for them was sent, so that a
  // slow reply is not taken for a fresh one). Counts only grow, so when calls race, a smaller count
  // of reads never replaces a larger fresh one; and with at least as many reads, the larger
  // unique-readers estimate stays (a recorded read's, or the feed's, may be up to a second old).
  void Put(const analytics::v1::ReadStats& stats, absl::Time seen);

  // The change feed delivered a message at `now`; `first` for the first message of a stream,
  // from which on every change reaches this cache through Put.
  void FeedMessage(absl::Time now, bool first);
  // The change feed's stream ended: entries age again.
  void FeedLost();

 private:
  // 32 bytes: with its key, one slot of the map is 64 bytes, which at a catalogue of 100 000
  // articles is about 8 MB of content-service's 64 MB (absl::Time would make it 72).
  struct Entry {
    int64_t reads = 0;
    int64_t unique_readers = 0;
    int64_t seen_unix_nanos = 0;
    bool refresh_requested = false;
  };
  static_assert(sizeof(Entry) == 32);
  struct Shard {
    absl::Mutex mutex;
    absl::flat_hash_map<std::string, Entry> entries ABSL_GUARDED_BY(mutex);
  };
  static constexpr std::size_t kShards = 16;
  static_assert(kEntriesAt8191Slots == kShards * kEntriesPerShardAt8191Slots);

  Shard& ShardOf(const std::string& article);
  // When an entry fetched at `seen` was last known current, as of `now`: `now` while the live
  // feed covers it and its messages arrive, its last message's time when they stopped or the
  // stream ended (for entries that stream covered), `seen` for entries no stream covered.
  [[nodiscard]] absl::Time CurrentAsOf(absl::Time seen, absl::Time now) const;

  const absl::Duration max_age_;
  const std::size_t max_entries_per_shard_;
  std::array<Shard, kShards> shards_;
  // Unix nanoseconds: since when the live stream has covered every change (INT64_MAX: no live
  // stream) and when its last message arrived; the same for the stream before it. Atomics: read
  // on every page view.
  std::atomic<int64_t> live_since_{INT64_MAX};
  std::atomic<int64_t> last_message_{0};
  std::atomic<int64_t> previous_live_since_{INT64_MAX};
  std::atomic<int64_t> previous_last_message_{0};
};

}  // namespace newsroom::content
