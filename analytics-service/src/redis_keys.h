#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "analytics-service/src/dedup_markers.h"

namespace newsroom::analytics {

// Names of every Redis key the service uses, all under one configurable prefix (default
// "newsroom:") so that several deployments can share a Redis. Article ids and read ids are
// validated before they get here, so they never contain ':' or whitespace.
//
//   {prefix}reads:{article_id}                string  all-time read count (INCR)
//   {prefix}readers:{article_id}              HLL     keyed hashes of reader ids (PFADD)
//   {prefix}readers-count:{article_id}        string  the readers' count (PFCOUNT) of an article
//                                                     with many, kept a second for recorded reads
//                                                     (see RedisReadCounterOptions)
//   {prefix}dedup:{W}:{slot}:{shard}          hash    dedup markers of one slot of W seconds (the
//                                                     dedup window), a 12-byte field per read;
//                                                     expires at the end of the next slot
//   {prefix}dedup:{W}:{slot}:shards           string  the slot's shard count (see DedupSlot)
//   {prefix}dedup:{W}:{slot}:count            string  markers the slot took (sizes the next one)
//   {prefix}dedup:legacy-until                string  unix time until which the one-key-per-read
//                                                     markers of older releases are looked up
//   {prefix}seen:{article_id}:{read_id}       string  older releases' dedup marker (looked up only)
//   {prefix}top:all                           zset    article_id -> all-time reads
//   {prefix}top:day:{YYYY-MM-DD}              zset    article_id -> reads that UTC day; expires
//                                                     kRankingDayTtlDays after the day starts
//   {prefix}changes                           zset    article_id -> change-log position of its
//                                                     latest change (WatchReadStatsChanges)
//   {prefix}changes:head                      string  the change log's last position (INCR)
//   {prefix}changes:id                        string  random id of the change log (SET NX)
//   {prefix}tmp:top-union                     zset    scratch key, lives only inside one script
//   {prefix}reader-hash-key                   string  generated HMAC key (when none configured)
class RedisKeys final {
 public:
  explicit RedisKeys(std::string prefix) : prefix_(std::move(prefix)) {}

  [[nodiscard]] std::string Reads(absl::string_view article_id) const;
  [[nodiscard]] std::string Readers(absl::string_view article_id) const;
  [[nodiscard]] std::string ReadersCount(absl::string_view article_id) const;
  [[nodiscard]] std::string DedupShard(const DedupSlot& slot, uint64_t shard) const;
  [[nodiscard]] std::string DedupShards(const DedupSlot& slot) const;
  [[nodiscard]] std::string DedupCount(const DedupSlot& slot) const;
  [[nodiscard]] std::string DedupLegacyUntil() const;
  [[nodiscard]] std::string LegacySeen(absl::string_view article_id,
                                       absl::string_view read_id) const;
  [[nodiscard]] std::string TopAllTime() const;
  [[nodiscard]] std::string TopDay(absl::CivilDay day) const;
  [[nodiscard]] std::string TopUnionScratch() const;
  [[nodiscard]] std::string Changes() const;
  [[nodiscard]] std::string ChangesHead() const;
  [[nodiscard]] std::string ChangesId() const;
  [[nodiscard]] std::string ReaderHashKey() const;

  [[nodiscard]] const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
};

}  // namespace newsroom::analytics
