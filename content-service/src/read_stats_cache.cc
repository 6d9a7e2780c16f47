#include "content-service/src/read_stats_cache.h"

#include "absl/hash/hash.h"

namespace newsroom::content {

ReadStatsCache::ReadStatsCache(absl::Duration max_age, std::size_t max_entries)
    : max_age_(max_age), max_entries_per_shard_(max_entries / kShards + 1) {}

ReadStatsCache::Shard& ReadStatsCache::ShardOf(const std::string& article) {
  return shards_[absl::Hash<std::string>()(article) % kShards];
}

std::optional<analytics::v1::ReadStats> ReadStatsCache::Fresh(const std::string& article,
                                                              absl::Time now,
                                                              bool* due_for_refresh) {
  if (max_age_ <= absl::ZeroDuration()) return std::nullopt;
  Shard& shard = ShardOf(article);
  absl::MutexLock lock(&shard.mutex);
  const auto it = shard.entries.find(article);
  if (it == shard.entries.end()) return std::nullopt;
  const absl::Duration age = now - it->second.seen;
  if (age > max_age_) return std::nullopt;
  if (due_for_refresh != nullptr && age > max_age_ / 2 && !it->second.refresh_requested) {
    it->second.refresh_requested = true;
    *due_for_refresh = true;
  }
  return it->second.stats;
}

void ReadStatsCache::Put(const analytics::v1::ReadStats& stats, absl::Time seen) {
  if (max_age_ <= absl::ZeroDuration()) return;
  Shard& shard = ShardOf(stats.article());
  absl::MutexLock lock(&shard.mutex);
  auto it = shard.entries.find(stats.article());
  if (it != shard.entries.end()) {
    it->second.refresh_requested = false;
    // A smaller count than a fresh entry's is a slower reply to an earlier call; after the entry
    // is stale any count wins (Redis may have been restored from an older snapshot).
    if (seen - it->second.seen <= max_age_ && it->second.stats.reads() > stats.reads()) return;
    it->second = Entry{stats, seen};
    return;
  }
  if (shard.entries.size() >= max_entries_per_shard_) {
    // Entries expire within max_age anyway; dropping arbitrary ones keeps this O(1).
    shard.entries.erase(shard.entries.begin());
  }
  shard.entries.emplace(stats.article(), Entry{stats, seen});
}

}  // namespace newsroom::content
