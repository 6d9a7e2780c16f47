#pragma once

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace newsroom::analytics {

// Where a read's dedup marker lives. One key per read (the first layout) cost about 180 bytes a
// read in Redis and made every read a new key in Redis's main dictionary; a marker is now a
// 12-byte field of a small hash, about 21 bytes (docs/performance.md, "Dedup markers in small
// hashes"):
//
// - Time is cut into slots as long as the dedup window. A read is marked in the slot current when
//   it is recorded and looked up in that slot and the one before, so a retry within the window
//   always finds it (and one up to two windows later may). A slot's hashes expire at the end of
//   the slot after it.
// - A slot's markers are spread over `shards` hashes by a digest of (article, read_id), so that
//   each hash stays small: within Redis's compact listpack encoding (hash-max-listpack-entries,
//   512 by default), and short to scan. The shard count is fixed when the slot's first read is
//   recorded, from how many markers the slot before it took, so it follows the rate of reads a
//   window at a time.
struct DedupSlot {
  int64_t seconds = 0;  // the slot's length: the dedup window
  int64_t index = 0;    // whole slots since the Unix epoch

  // Unix time at which the slot's hashes expire: the end of the slot after it.
  [[nodiscard]] int64_t ExpiresAt() const { return (index + 2) * seconds; }
  friend bool operator==(const DedupSlot&, const DedupSlot&) = default;
};

// The slot current at `now` for a window of `window` (whole seconds, at least one).
[[nodiscard]] DedupSlot DedupSlotAt(absl::Time now, absl::Duration window);

// A read's marker: which shard of a slot holds it (`shard_hash` modulo the slot's shard count, a
// power of two) and the field that marks it there.
struct DedupMarker {
  uint64_t shard_hash = 0;
  std::string field;  // kDedupFieldBytes bytes, binary
};
inline constexpr std::size_t kDedupFieldBytes = 12;

// A digest (SHA-256) of the article and the read_id, the same in every process and release: a
// marker written by one replica is found by another. Two different reads share a marker only if
// their 96-bit fields collide in the same shard, which never happens in practice.
[[nodiscard]] DedupMarker DedupMarkerOf(absl::string_view article_id, absl::string_view read_id);

// Shard counts are powers of two between these. The floor keeps a first slot (after a deployment
// or an upgrade, sized by nothing) from piling its markers into a few large hashes; past the
// ceiling (about 2.1 billion markers a slot, some 12 000 reads/s over a 48 h window) hashes outgrow
// the compact encoding and a marker costs about 70 bytes instead of 21.
inline constexpr int64_t kMinDedupShards = 1024;
inline constexpr int64_t kMaxDedupShards = int64_t{1} << 22;
// Markers a shard is sized for: an eighth of Redis's default hash-max-listpack-entries (512), so a
// slot can take eight times the reads of the slot before it and keep its hashes compact, and a
// lookup scans a short listpack.
inline constexpr int64_t kDedupMarkersPerShard = 64;

// Where the record script puts and looks for markers right now.
struct DedupLayout {
  DedupSlot slot;
  int64_t shards = kMinDedupShards;  // this slot's shard count
  int64_t previous_shards = 0;       // the previous slot's; 0: it holds no markers
  bool legacy = false;               // also look for older releases' one-key markers
};

}  // namespace newsroom::analytics
