#include "analytics-service/src/redis_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/time.h"
#include "analytics-service/src/redis_read_counter.h"

namespace newsroom::analytics {
namespace {

using ::testing::ElementsAre;

TEST(RedisKeysTest, NamesEveryKeyUnderThePrefix) {
  const RedisKeys keys("newsroom:");
  EXPECT_EQ(keys.Reads("a-1"), "newsroom:reads:a-1");
  EXPECT_EQ(keys.Readers("a-1"), "newsroom:readers:a-1");
  EXPECT_EQ(keys.Seen("a-1", "r:1.x"), "newsroom:seen:a-1:r:1.x");
  EXPECT_EQ(keys.TopAllTime(), "newsroom:top:all");
  EXPECT_EQ(keys.TopDay(absl::CivilDay(2024, 3, 7)), "newsroom:top:day:2024-03-07");
  EXPECT_EQ(keys.TopUnionScratch(), "newsroom:tmp:top-union");
  EXPECT_EQ(keys.ReaderHashKey(), "newsroom:reader-hash-key");
}

TEST(RedisKeysTest, EmptyPrefixIsAllowed) {
  const RedisKeys keys("");
  EXPECT_EQ(keys.Reads("x"), "reads:x");
  EXPECT_EQ(keys.TopDay(absl::CivilDay(1999, 12, 31)), "top:day:1999-12-31");
}

TEST(RedisReadCounterTest, RecordCommandTouchesTheDayRankingOnlyWhenGivenADay) {
  RedisReadCounterOptions options;
  options.key_prefix = "p:";
  options.pool_size = 1;
  const RedisReadCounter counter(options);  // connects lazily: no Redis needed here

  const RedisCommand recent =
      counter.RecordCommand(Read{"a", "r1", "hash", absl::CivilDay(2024, 1, 31)});
  ASSERT_EQ(recent.size(), 12u);
  EXPECT_EQ(recent[0], "EVALSHA");
  EXPECT_EQ(recent[1].size(), 40u);  // SHA1 hex
  EXPECT_THAT(std::vector<std::string>(recent.begin() + 2, recent.end()),
              ElementsAre("5", "p:seen:a:r1", "p:reads:a", "p:readers:a", "p:top:all",
                          "p:top:day:2024-01-31", "172800", "a", "hash",
                          // 2024-01-31 + 32 days = 2024-03-03T00:00:00Z
                          std::to_string(absl::ToUnixSeconds(
                              absl::FromCivil(absl::CivilDay(2024, 3, 3), absl::UTCTimeZone())))));

  const RedisCommand old = counter.RecordCommand(Read{"a", "r1", "", std::nullopt});
  EXPECT_THAT(std::vector<std::string>(old.begin() + 2, old.end()),
              ElementsAre("4", "p:seen:a:r1", "p:reads:a", "p:readers:a", "p:top:all", "172800",
                          "a", "", "0"));
}

}  // namespace
}  // namespace newsroom::analytics
