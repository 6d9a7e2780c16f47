#include "content-service/src/read_stats_cache.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace newsroom::content {

ReadStatsCache::ReadStatsCache(absl::Duration max_age, std::size_t max_entries)
    : max_age_(max_age), max_entries_per_shard_(std::max<std::size_t>(1, max_entries / kShards)) {}

std::size_t ReadStatsCache::SlotCount() {
  std::size_t slots = 0;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mutex);
    slots += shard.entries.capacity();
  }
  return slots;
}

ReadStatsCache::Shard& ReadStatsCache::ShardOf(const std::string& article) {
  return shards_[absl::Hash<std::string>()(article) % kShards];
}

absl::Time ReadStatsCache::CurrentAsOf(absl::Time seen, absl::Time now) const {
  const int64_t seen_ns = absl::ToUnixNanos(seen);
  // live_since_ first: FeedLost() sets the previous stream's fields before it clears it.
  if (seen_ns >= live_since_.load()) {
    // Messages at least every max_age / 2 keep covered entries current; what such an entry misses
    // is then at most that old, plus the feed's own interval, well under the other half.
    const absl::Time last = absl::FromUnixNanos(last_message_.load());
    return std::max(seen, now - last <= max_age_ / 2 ? now : last);
  }
  if (seen_ns >= previous_live_since_.load()) {
    return std::max(seen, absl::FromUnixNanos(previous_last_message_.load()));
  }
  return seen;
}

std::optional<analytics::v1::ReadStats> ReadStatsCache::Fresh(const std::string& article,
                                                              absl::Time now,
                                                              bool* due_for_refresh) {
  if (max_age_ <= absl::ZeroDuration()) return std::nullopt;
  Shard& shard = ShardOf(article);
  Entry entry;
  {
    absl::MutexLock lock(&shard.mutex);
    const auto it = shard.entries.find(article);
    if (it == shard.entries.end()) return std::nullopt;
    const absl::Duration age =
        now - CurrentAsOf(absl::FromUnixNanos(it->second.seen_unix_nanos), now);
    if (age > max_age_) return std::nullopt;
    if (due_for_refresh != nullptr && age > max_age_ / 2 && !it->second.refresh_requested) {
      it->second.refresh_requested = true;
      *due_for_refresh = true;
    }
    entry = it->second;
  }
  analytics::v1::ReadStats stats;
  stats.set_article(article);
  stats.set_reads(entry.reads);
  stats.set_unique_readers(entry.unique_readers);
  return stats;
}

void ReadStatsCache::Put(const analytics::v1::ReadStats& stats, absl::Time seen) {
  if (max_age_ <= absl::ZeroDuration()) return;
  const Entry fresh{.reads = stats.reads(),
                    .unique_readers = stats.unique_readers(),
                    .seen_unix_nanos = absl::ToUnixNanos(seen)};
  Shard& shard = ShardOf(stats.article());
  absl::MutexLock lock(&shard.mutex);
  auto it = shard.entries.find(stats.article());
  if (it != shard.entries.end()) {
    it->second.refresh_requested = false;
    // A smaller count than a current entry's is a slower reply to an earlier call; after the
    // entry is stale any count wins (Redis may have been restored from an older snapshot).
    const bool current =
        seen - CurrentAsOf(absl::FromUnixNanos(it->second.seen_unix_nanos), seen) <= max_age_;
    if (current && it->second.reads > stats.reads()) return;
    // With at least as many reads, at least as many readers: a recorded read, and the feed, may
    // carry an article's readers as counted up to a second before, and the feed sends the count
    // of a quiet article again once it is current.
    const int64_t unique_readers =
        current ? std::max(it->second.unique_readers, fresh.unique_readers) : fresh.unique_readers;
    it->second = fresh;
    it->second.unique_readers = unique_readers;
    return;
  }
  if (shard.entries.size() >= max_entries_per_shard_) {
    // Aging entries expire within max_age anyway; dropping arbitrary ones keeps this O(1).
    shard.entries.erase(shard.entries.begin());
  }
  shard.entries.emplace(stats.article(), fresh);
}

void ReadStatsCache::FeedMessage(absl::Time now, bool first) {
  last_message_.store(absl::ToUnixNanos(now));
  if (first) live_since_.store(absl::ToUnixNanos(now));
}

void ReadStatsCache::FeedLost() {
  const int64_t live_since = live_since_.load();
  if (live_since == INT64_MAX) return;
  previous_last_message_.store(last_message_.load());
  previous_live_since_.store(live_since);
  live_since_.store(INT64_MAX);
}

}  // namespace newsroom::content
