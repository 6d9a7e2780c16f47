#include "content-service/src/read_stats_cache.h"

#include <gtest/gtest.h>

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
  EXPECT_LE(kept, 32 + 16);  // per-shard bound, rounded up
  EXPECT_GT(kept, 0);
}

}  // namespace
}  // namespace newsroom::content
