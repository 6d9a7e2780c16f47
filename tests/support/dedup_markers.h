#pragma once

// Where analytics-service keeps a read's dedup marker in Redis (analytics-service/src/
// dedup_markers.h), worked out here on its own so that tests check the layout instead of reusing
// the code under test:
//
//   {key_prefix}dedup:{window seconds}:{slot}:{shard}   hash, field = the read's 12-byte marker
//   {key_prefix}dedup:{window seconds}:{slot}:shards    the slot's shard count
//
// where slot = floor(unix time / window), d = SHA-256("{article_id}/{read_id}"), shard = the
// big-endian integer of d[0..8) modulo the shard count, and the field is d[8..20).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace newsroom::testing {

// "{key_prefix}dedup:{window_seconds}:{slot}:" for the slot current at `at`.
std::string DedupSlotPrefix(absl::string_view key_prefix, int64_t window_seconds, absl::Time at);

struct DedupMarkerAddress {
  std::string key;    // the shard's hash
  std::string field;  // binary
};

// The read's marker in the slot named by `slot_prefix` (from DedupSlotPrefix), whose shard count
// (the value of "{slot_prefix}shards") is `shards`.
DedupMarkerAddress DedupMarkerAt(absl::string_view slot_prefix, int64_t shards,
                                 absl::string_view article_id, absl::string_view read_id);

// A read's marker found in Redis, and the slot (its index) whose hash holds it.
struct FoundDedupMarker {
  DedupMarkerAddress address;
  int64_t slot = 0;
};

// Runs a Redis command and returns its reply as text: a string's bytes, an integer's digits, ""
// for nil.
using RedisCommandText = std::function<std::string(const std::vector<std::string>& argv)>;

// Looks for the read's marker in the slot current at `now` and, since a test may straddle a
// slot's end, the slot before it; nullopt if neither holds it.
std::optional<FoundDedupMarker> FindDedupMarker(const RedisCommandText& redis,
                                                absl::string_view key_prefix,
                                                int64_t window_seconds, absl::Time now,
                                                absl::string_view article_id,
                                                absl::string_view read_id);

}  // namespace newsroom::testing
