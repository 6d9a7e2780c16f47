#include "content-service/src/read_stats_cache.h"

#include <gtest/gtest.h>

#include "content-service/src/content_service.h"

namespace newsroom::content {
namespace {

analytics::v1::ReadStats Stats(const std::string& article, std::int64_t reads) {
  analytics::v1::ReadStats stats;
  stats.set_article(article);
  stats.set_reads(reads);
  return stats;
}

const absl::Time kStart = absl::FromUnixSeconds(1795000000);

TEST(ReadStatsCacheTest, ServesStatsOnlyWhileFresh) {
  ReadStatsCache cache(absl::Milliseconds(500), 100);
  EXPECT_FALSE(cache.Fresh("articles/a", kStart).has_value());
  cache.Put(Stats("articles/a", 7), kStart);
  ASSERT_TRUE(cache.Fresh("articles/a", kStart + absl::Milliseconds(500)).has_value());
  EXPECT_EQ(cache.Fresh("articles/a", kStart)->reads(), 7);
  EXPECT_FALSE(cache.Fresh("articles/a", kStart + absl::Milliseconds(501)).has_value());
}

TEST(ReadStatsCacheTest, ASlowerSmallerReplyDoesNotReplaceAFreshLargerCount) {
  ReadStatsCache cache(absl::Milliseconds(500), 100);
  cache.Put(Stats("articles/a", 10), kStart);
  cache.Put(Stats("articles/a", 9), kStart + absl::Milliseconds(1));
  EXPECT_EQ(cache.Fresh("articles/a", kStart + absl::Milliseconds(2))->reads(), 10);
  cache.Put(Stats("articles/a", 11), kStart + absl::Milliseconds(3));
  EXPECT_EQ(cache.Fresh("articles/a", kStart + absl::Milliseconds(4))->reads(), 11);
}

TEST(ReadStatsCacheTest, WithAtLeastAsManyReadsTheLargerUniqueReadersStay) {
  // The feed's fresh count, then a recorded read's answer with the same reads and a count kept
  // from before (analytics keeps a large readership's count for up to a second).
  ReadStatsCache cache(absl::Milliseconds(500), 100);
  analytics::v1::ReadStats fresh = Stats("articles/a", 10);
  fresh.set_unique_readers(2000);
  analytics::v1::ReadStats kept = Stats("articles/a", 10);
  kept.set_unique_readers(1990);
  cache.Put(fresh, kStart);
  cache.Put(kept, kStart + absl::Milliseconds(1));
  EXPECT_EQ(cache.Fresh("articles/a", kStart + absl::Milliseconds(2))->unique_readers(), 2000);
  // More reads with a kept estimate: the reads move on, the larger estimate stays.
  kept.set_reads(11);
  cache.Put(kept, kStart + absl::Milliseconds(3));
  EXPECT_EQ(cache.Fresh("articles/a", kStart + absl::Milliseconds(4))->reads(), 11);
  EXPECT_EQ(cache.Fresh("articles/a", kStart + absl::Milliseconds(4))->unique_readers(), 2000);
  // A stale entry gives way to any count (Redis may have been restored from an older snapshot).
  kept.set_unique_readers(5);
  cache.Put(kept, kStart + absl::Seconds(3));
  EXPECT_EQ(cache.Fresh("articles/a", kStart + absl::Seconds(3))->unique_readers(), 5);
}

TEST(ReadStatsCacheTest, UnderTheFeedTheLargerUniqueReadersStayUntilItIsLost) {
  ReadStatsCache cache(absl::Milliseconds(500), 100);
  cache.FeedMessage(kStart, /*first=*/true);
  analytics::v1::ReadStats stats = Stats("articles/a", 10);
  stats.set_unique_readers(2000);
  cache.Put(stats, kStart + absl::Milliseconds(1));
  // Long after, with the feed live, the entry is current: a kept estimate does not replace it.
  cache.FeedMessage(kStart + absl::Seconds(10), /*first=*/false);
  stats.set_unique_readers(1990);
  cache.Put(stats, kStart + absl::Seconds(10));
  EXPECT_EQ(cache.Fresh("articles/a", kStart + absl::Seconds(10))->unique_readers(), 2000);
  // Once the feed is lost the entry ages, and past max_age any count wins.
  cache.FeedLost();
  stats.set_unique_readers(5);
  cache.Put(stats, kStart + absl::Seconds(12));
  EXPECT_EQ(cache.Fresh("articles/a", kStart + absl::Seconds(12))->unique_readers(), 5);
}

TEST(ReadStatsCacheTest, AfterExpiryASmallerCountWins) {
  // Redis restored from an older snapshot: the cache must follow, not stick to the old number.
  ReadStatsCache cache(absl::Milliseconds(500), 100);
  cache.Put(Stats("articles/a", 10), kStart);
  cache.Put(Stats("articles/a", 4), kStart + absl::Seconds(1));
  EXPECT_EQ(cache.Fresh("articles/a", kStart + absl::Seconds(1))->reads(), 4);
}

TEST(ReadStatsCacheTest, AnEntryPastHalfItsAgeIsReportedDueOnceUntilRefreshed) {
  ReadStatsCache cache(absl::Seconds(1), 100);
  cache.Put(Stats("articles/a", 3), kStart);
  bool due = false;
  ASSERT_TRUE(cache.Fresh("articles/a", kStart + absl::Milliseconds(400), &due).has_value());
  EXPECT_FALSE(due);
  ASSERT_TRUE(cache.Fresh("articles/a", kStart + absl::Milliseconds(600), &due).has_value());
  EXPECT_TRUE(due);
  due = false;
  ASSERT_TRUE(cache.Fresh("articles/a", kStart + absl::Milliseconds(700), &due).has_value());
  EXPECT_FALSE(due);  // already asked for: one refresh however many calls read it
  cache.Put(Stats("articles/a", 4), kStart + absl::Milliseconds(700));
  ASSERT_TRUE(cache.Fresh("articles/a", kStart + absl::Milliseconds(1300), &due).has_value());
  EXPECT_TRUE(due);
}

TEST(ReadStatsCacheTest, ZeroMaxAgeDisablesIt) {
  ReadStatsCache cache(absl::ZeroDuration(), 100);
  cache.Put(Stats("articles/a", 1), kStart);
  EXPECT_FALSE(cache.Fresh("articles/a", kStart).has_value());
}

TEST(ReadStatsCacheTest, StaysWithinItsEntryBound) {
  ReadStatsCache cache(absl::Seconds(1), 32);
  for (int i = 0; i < 1000; ++i) cache.Put(Stats("articles/a" + std::to_string(i), i), kStart);
  int kept = 0;
  for (int i = 0; i < 1000; ++i)
    kept += cache.Fresh("articles/a" + std::to_string(i), kStart) ? 1 : 0;
  EXPECT_LE(kept, 32);
  EXPECT_GT(kept, 0);
}

// Filled to kEntriesAt8191Slots and then evicting, every shard's table stays at 8191 slots. A cap
// of 120 000 doubled them all, which put content-service over its 64 MB bound.
TEST(ReadStatsCacheTest, AtItsDefaultCapEvictionNeverDoublesATable) {
  ReadStatsCache cache(absl::Seconds(1), ReadStatsCache::kEntriesAt8191Slots);
  constexpr int kArticles = 200000;  // every shard fills and evicts
  for (int i = 0; i < kArticles; ++i) {
    cache.Put(Stats("articles/a" + std::to_string(i), i), kStart);
  }
  int kept = 0;
  for (int i = 0; i < kArticles; ++i) {
    kept += cache.Fresh("articles/a" + std::to_string(i), kStart) ? 1 : 0;
  }
  EXPECT_EQ(kept, ReadStatsCache::kEntriesAt8191Slots);
  EXPECT_EQ(cache.SlotCount(), 16 * 8191);
  // ... and that cap is content-service's default.
  EXPECT_EQ(ContentServiceOptions().stats_cache_entries, ReadStatsCache::kEntriesAt8191Slots);
}

absl::Time At(int milliseconds) { return kStart + absl::Milliseconds(milliseconds); }

TEST(ReadStatsCacheTest, WhileTheFeedIsLiveAnEntryFetchedAfterItStartedNeverAges) {
  ReadStatsCache cache(absl::Seconds(1), 100);
  cache.Put(Stats("articles/before", 1), At(0));  // fetched before the feed went live
  cache.FeedMessage(At(10), /*first=*/true);
  cache.Put(Stats("articles/after", 2), At(20));
  for (int t = 250; t <= 5000; t += 250) cache.FeedMessage(At(t), /*first=*/false);
  bool due = false;
  const auto after = cache.Fresh("articles/after", At(5100), &due);
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->reads(), 2);
  EXPECT_FALSE(due);  // nothing to refresh: the feed brings every change
  // The feed may have missed changes to an entry fetched before its first message.
  EXPECT_FALSE(cache.Fresh("articles/before", At(5100)).has_value());

  cache.Put(Stats("articles/after", 3), At(5200));  // a change, through the feed
  EXPECT_EQ(cache.Fresh("articles/after", At(5300))->reads(), 3);
}

TEST(ReadStatsCacheTest, WhenFeedMessagesStopEntriesAgeFromTheLastOne) {
  ReadStatsCache cache(absl::Seconds(1), 100);
  cache.FeedMessage(At(0), /*first=*/true);
  cache.Put(Stats("articles/a", 5), At(10));
  cache.FeedMessage(At(3000), /*first=*/false);  // the last message that arrives
  bool due = false;
  ASSERT_TRUE(cache.Fresh("articles/a", At(3400), &due).has_value());
  EXPECT_FALSE(due);
  ASSERT_TRUE(cache.Fresh("articles/a", At(3600), &due).has_value());
  EXPECT_TRUE(due);  // past half the age since the last message: refresh in the background
  EXPECT_FALSE(cache.Fresh("articles/a", At(4001)).has_value());
}

TEST(ReadStatsCacheTest, AfterTheStreamEndsItsEntriesAgeFromItsLastMessage) {
  ReadStatsCache cache(absl::Seconds(1), 100);
  cache.FeedMessage(At(0), /*first=*/true);
  cache.Put(Stats("articles/a", 5), At(10));
  cache.FeedMessage(At(3000), /*first=*/false);
  cache.FeedLost();
  cache.FeedMessage(At(3100), /*first=*/true);  // a new stream: it did not see what came between
  bool due = false;
  ASSERT_TRUE(cache.Fresh("articles/a", At(3200), &due).has_value());
  EXPECT_FALSE(due);
  ASSERT_TRUE(cache.Fresh("articles/a", At(3600), &due).has_value());
  EXPECT_TRUE(due);
  cache.Put(Stats("articles/a", 6), At(3600));  // the refresh, sent under the new stream
  for (int t = 3350; t <= 9000; t += 250) cache.FeedMessage(At(t), /*first=*/false);
  EXPECT_EQ(cache.Fresh("articles/a", At(9100))->reads(), 6);
}

TEST(ReadStatsCacheTest, UnderTheFeedASlowerSmallerReplyStillLoses) {
  ReadStatsCache cache(absl::Seconds(1), 100);
  cache.FeedMessage(At(0), /*first=*/true);
  cache.Put(Stats("articles/a", 10), At(100));
  for (int t = 250; t <= 5000; t += 250) cache.FeedMessage(At(t), /*first=*/false);
  cache.Put(Stats("articles/a", 9), At(5000));  // a fetch that raced the feed
  EXPECT_EQ(cache.Fresh("articles/a", At(5001))->reads(), 10);
}

}  // namespace
}  // namespace newsroom::content
