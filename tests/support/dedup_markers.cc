#include "tests/support/dedup_markers.h"

#include <openssl/sha.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace newsroom::testing {

std::string DedupSlotPrefix(absl::string_view key_prefix, int64_t window_seconds, absl::Time at) {
  const int64_t unix_seconds = absl::ToUnixSeconds(at);
  return absl::StrCat(key_prefix, "dedup:", window_seconds, ":", unix_seconds / window_seconds,
                      ":");
}

DedupMarkerAddress DedupMarkerAt(absl::string_view slot_prefix, int64_t shards,
                                 absl::string_view article_id, absl::string_view read_id) {
  const std::string input = absl::StrCat(article_id, "/", read_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  uint64_t hash = 0;
  for (int i = 0; i < 8; ++i) hash = (hash << 8) | digest[i];
  return {.key = absl::StrCat(slot_prefix, hash % static_cast<uint64_t>(shards)),
          .field = std::string(reinterpret_cast<const char*>(digest) + 8, 12)};
}

std::optional<FoundDedupMarker> FindDedupMarker(const RedisCommandText& redis,
                                                absl::string_view key_prefix,
                                                int64_t window_seconds, absl::Time now,
                                                absl::string_view article_id,
                                                absl::string_view read_id) {
  for (const absl::Time at : {now, now - absl::Seconds(window_seconds)}) {
    const std::string slot = DedupSlotPrefix(key_prefix, window_seconds, at);
    const std::string shards = redis({"GET", slot + "shards"});
    if (shards.empty()) continue;
    DedupMarkerAddress marker = DedupMarkerAt(slot, std::stoll(shards), article_id, read_id);
    if (redis({"HEXISTS", marker.key, marker.field}) == "1") {
      return FoundDedupMarker{.address = std::move(marker),
                              .slot = absl::ToUnixSeconds(at) / window_seconds};
    }
  }
  return std::nullopt;
}

}  // namespace newsroom::testing
