#include "analytics-service/src/dedup_markers.h"

#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tests/support/dedup_markers.h"

namespace newsroom::analytics {
namespace {

TEST(DedupSlotTest, SlotsAreWholeWindowsSinceTheEpoch) {
  const absl::Duration window = absl::Hours(48);
  EXPECT_EQ(DedupSlotAt(absl::FromUnixSeconds(0), window), (DedupSlot{172800, 0}));
  EXPECT_EQ(DedupSlotAt(absl::FromUnixSeconds(172799), window), (DedupSlot{172800, 0}));
  EXPECT_EQ(DedupSlotAt(absl::FromUnixSeconds(172800), window), (DedupSlot{172800, 1}));
  EXPECT_EQ(DedupSlotAt(absl::FromUnixSeconds(1796000000), window), (DedupSlot{172800, 10393}));
  // Before the epoch the slot still rounds down.
  EXPECT_EQ(DedupSlotAt(absl::FromUnixSeconds(-1), window), (DedupSlot{172800, -1}));
  EXPECT_EQ(DedupSlotAt(absl::FromUnixSeconds(59), absl::Minutes(1)), (DedupSlot{60, 0}));
}

TEST(DedupSlotTest, ASlotExpiresAtTheEndOfTheNext) {
  // A marker made at the last second of slot 5 is still there a whole window later, in slot 6.
  const DedupSlot slot{.seconds = 600, .index = 5};
  EXPECT_EQ(slot.ExpiresAt(), 7 * 600);
  EXPECT_GE(slot.ExpiresAt(), 6 * 600 - 1 + 600);
}

TEST(DedupMarkerTest, IsTheSha256OfArticleAndReadId) {
  // Stable across processes and releases: python3 -c 'import hashlib;
  // d = hashlib.sha256(b"a/r1").digest(); print(int.from_bytes(d[:8], "big"), d[8:20].hex())'
  const DedupMarker marker = DedupMarkerOf("a", "r1");
  EXPECT_EQ(marker.shard_hash, 1940253492483499951u);
  EXPECT_EQ(absl::BytesToHexString(marker.field), "7b1a5464282c351c33ea8ff4");
  EXPECT_EQ(marker.field.size(), kDedupFieldBytes);
}

TEST(DedupMarkerTest, DistinctReadsGetDistinctMarkers) {
  // The separator keeps (article, read_id) pairs apart that concatenate alike.
  EXPECT_NE(DedupMarkerOf("a-b", "c").field, DedupMarkerOf("a", "b-c").field);
  EXPECT_NE(DedupMarkerOf("a", "r1").field, DedupMarkerOf("a", "r2").field);
  EXPECT_NE(DedupMarkerOf("a", "r1").field, DedupMarkerOf("b", "r1").field);
}

TEST(DedupMarkerTest, AgreesWithTheTestsOwnLayout) {
  // tests/support works the address out on its own; both must agree, or the integration tests
  // would look in the wrong place.
  const DedupMarker marker = DedupMarkerOf("news-1", "cs-0123456789abcdef0123456789abcdef");
  const testing::DedupMarkerAddress address = testing::DedupMarkerAt(
      "p:dedup:172800:10393:", 4096, "news-1", "cs-0123456789abcdef0123456789abcdef");
  EXPECT_EQ(address.key, absl::StrCat("p:dedup:172800:10393:", marker.shard_hash & 4095));
  EXPECT_EQ(address.field, marker.field);
  EXPECT_EQ(testing::DedupSlotPrefix("p:", 172800, absl::FromUnixSeconds(1796000000)),
            "p:dedup:172800:10393:");
}

}  // namespace
}  // namespace newsroom::analytics
