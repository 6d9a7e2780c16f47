#include "analytics-service/src/dedup_markers.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/container/inlined_vector.h"

namespace newsroom::analytics {

DedupSlot DedupSlotAt(absl::Time now, absl::Duration window) {
  const int64_t seconds = std::max<int64_t>(absl::ToInt64Seconds(window), 1);
  const int64_t unix_seconds = absl::ToUnixSeconds(now);
  // Floor division: a clock before 1970 is nonsense, but must not skew the slot by one.
  int64_t index = unix_seconds / seconds;
  if (unix_seconds % seconds < 0) --index;
  return {.seconds = seconds, .index = index};
}

DedupMarker DedupMarkerOf(absl::string_view article_id, absl::string_view read_id) {
  // Article ids never contain '/', so (article, read_id) pairs map to distinct inputs. Validated
  // ids (at most 63 and 128 characters) fit the inline buffer: no allocation a read.
  absl::InlinedVector<unsigned char, 256> input(article_id.begin(), article_id.end());
  input.push_back('/');
  input.insert(input.end(), read_id.begin(), read_id.end());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(input.data(), input.size(), digest);
  DedupMarker marker;
  for (int i = 0; i < 8; ++i) marker.shard_hash = (marker.shard_hash << 8) | digest[i];
  marker.field.assign(reinterpret_cast<const char*>(digest) + 8, kDedupFieldBytes);
  return marker;
}

}  // namespace newsroom::analytics
