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

TEST(RedisReadCounterTest, RecordCommandsPassEveryKeyInKeysAndGroupReadsByArticle) {
  RedisReadCounterOptions options;
  options.key_prefix = "p:";
  options.pool_size = 1;
  const RedisReadCounter counter(options);  // connects lazily: no Redis needed here

  const absl::CivilDay day(2024, 1, 31);
  const std::vector<RedisCommand> commands = counter.RecordCommands(
      {Read{"a", "r1", "hash", day}, Read{"b", "r1", "", std::nullopt}, Read{"a", "r2", "", day}});
  ASSERT_EQ(commands.size(), 1u);
  const RedisCommand& command = commands[0];
  EXPECT_EQ(command[0], "EVALSHA");
  EXPECT_EQ(command[1].size(), 40u);  // SHA1 hex
  // 2024-01-31 + 32 days = 2024-03-03T00:00:00Z
  const std::string expiry = std::to_string(
      absl::ToUnixSeconds(absl::FromCivil(absl::CivilDay(2024, 3, 3), absl::UTCTimeZone())));
  EXPECT_THAT(
      std::vector<std::string>(command.begin() + 2, command.end()),
      ElementsAre(
          // KEYS: the rankings, each article's keys, each read's dedup key (a's first),
          // the change log's head and the log.
          "11", "p:top:all", "p:top:day:2024-01-31", "p:reads:a", "p:readers:a", "p:reads:b",
          "p:readers:b", "p:seen:a:r1", "p:seen:a:r2", "p:seen:b:r1", "p:changes:head", "p:changes",
          // ARGV: dedup seconds, 1 day, 2 articles, the day's expiry, each article and its
          // number of reads, each read's day (0: none) and reader hash.
          "172800", "1", "2", expiry, "a", "2", "b", "1", "1", "hash", "1", "", "0", ""));
}

TEST(RedisReadCounterTest, RecordCommandsCarryAtMostMaxReadsPerScriptEach) {
  RedisReadCounterOptions options;
  options.pool_size = 1;
  options.max_reads_per_script = 2;
  const RedisReadCounter counter(options);
  std::vector<Read> reads;
  for (int i = 0; i < 5; ++i) reads.push_back(Read{"a", std::to_string(i), "", std::nullopt});
  const std::vector<RedisCommand> commands = counter.RecordCommands(reads);
  ASSERT_EQ(commands.size(), 3u);
  EXPECT_EQ(commands[0][2], "7");  // top:all, a's two keys, two dedup keys, the change log's two
  EXPECT_EQ(commands[2][2], "6");
  // The last call's ARGV ends with its one article ("a", 1 read) and that read (no day, no reader).
  EXPECT_THAT(std::vector<std::string>(commands[2].end() - 4, commands[2].end()),
              ElementsAre("a", "1", "0", ""));
  EXPECT_TRUE(counter.RecordCommands({}).empty());
}

}  // namespace
}  // namespace newsroom::analytics
