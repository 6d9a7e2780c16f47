#pragma once

#include <array>
#include <cstddef>
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
class ReadStatsCache final {
 public:
  // `max_age` zero disables the cache. At most `max_entries` articles are kept.
  ReadStatsCache(absl::Duration max_age, std::size_t max_entries);

  // The stats of `article` if seen no longer than max_age before `now`. Sets `*due_for_refresh`
  // (when given) if they are older than half of max_age and nobody was told so since the last Put:
  // each entry is reported due once, so that one refresh is asked for however many calls read it.
  [[nodiscard]] std::optional<analytics::v1::ReadStats> Fresh(const std::string& article,
                                                              absl::Time now,
                                                              bool* due_for_refresh = nullptr);

  // Remembers `stats` as current at `seen` (the time the request for them was sent, so that a
  // slow reply is not taken for a fresh one). Counts only grow, so when calls race, a smaller count
  // never replaces a larger fresh one.
  void Put(const analytics::v1::ReadStats& stats, absl::Time seen);

 private:
  struct Entry {
    analytics::v1::ReadStats stats;
    absl::Time seen;
    bool refresh_requested = false;
  };
  struct Shard {
    absl::Mutex mutex;
    absl::flat_hash_map<std::string, Entry> entries ABSL_GUARDED_BY(mutex);
  };
  static constexpr std::size_t kShards = 16;

  Shard& ShardOf(const std::string& article);

  const absl::Duration max_age_;
  const std::size_t max_entries_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace newsroom::content
