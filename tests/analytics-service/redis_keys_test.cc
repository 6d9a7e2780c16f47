#include "analytics-service/src/redis_keys.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "analytics-service/src/dedup_markers.h"
#include "analytics-service/src/redis_read_counter.h"

namespace newsroom::analytics {
namespace {

using ::testing::ElementsAre;

TEST(RedisKeysTest, NamesEveryKeyUnderThePrefix) {
  const RedisKeys keys("newsroom:");
  EXPECT_EQ(keys.Reads("a-1"), "newsroom:reads:a-1");
  EXPECT_EQ(keys.Readers("a-1"), "newsroom:readers:a-1");
  const DedupSlot slot{.seconds = 172800, .index = 10393};
  EXPECT_EQ(keys.DedupShard(slot, 17), "newsroom:dedup:172800:10393:17");
  EXPECT_EQ(keys.DedupShards(slot), "newsroom:dedup:172800:10393:shards");
  EXPECT_EQ(keys.DedupCount(slot), "newsroom:dedup:172800:10393:count");
  EXPECT_EQ(keys.DedupLegacyUntil(), "newsroom:dedup:legacy-until");
  EXPECT_EQ(keys.LegacySeen("a-1", "r:1.x"), "newsroom:seen:a-1:r:1.x");
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

// The shard of `read_id` of article `article` among `shards`.
uint64_t Shard(absl::string_view article, absl::string_view read_id, int64_t shards) {
  return DedupMarkerOf(article, read_id).shard_hash & static_cast<uint64_t>(shards - 1);
}

std::string Field(absl::string_view article, absl::string_view read_id) {
  return DedupMarkerOf(article, read_id).field;
}

TEST(RedisReadCounterTest, RecordCommandsPassEveryKeyInKeysAndGroupReadsByArticle) {
  RedisReadCounterOptions options;
  options.key_prefix = "p:";
  options.pool_size = 1;
  options.readers_count_max_age = absl::Milliseconds(1500);
  options.readers_count_kept_from = 7;
  const RedisReadCounter counter(options);  // connects lazily: no Redis needed here

  const absl::CivilDay day(2024, 1, 31);
  // The steady state: markers go to this slot's shards and are looked up in the previous slot's.
  const DedupLayout layout{
      .slot = {.seconds = 172800, .index = 10}, .shards = 1024, .previous_shards = 2048};
  const std::vector<RedisCommand> commands = counter.RecordCommands(
      {Read{"a", "r1", "hash", day}, Read{"b", "r1", "", std::nullopt}, Read{"a", "r2", "", day}},
      layout);
  ASSERT_EQ(commands.size(), 1u);
  const RedisCommand& command = commands[0];
  EXPECT_EQ(command[0], "EVALSHA");
  EXPECT_EQ(command[1].size(), 40u);  // SHA1 hex
  // 2024-01-31 + 32 days = 2024-03-03T00:00:00Z
  const std::string expiry = std::to_string(
      absl::ToUnixSeconds(absl::FromCivil(absl::CivilDay(2024, 3, 3), absl::UTCTimeZone())));
  const auto shard = [](int64_t slot, absl::string_view article, absl::string_view read_id,
                        int64_t shards) {
    return absl::StrCat("p:dedup:172800:", slot, ":", Shard(article, read_id, shards));
  };
  EXPECT_THAT(std::vector<std::string>(command.begin() + 2, command.end()),
              ElementsAre(
                  // KEYS: the rankings, each article's keys, the slot's marker count, the change
                  // log's head and the log, then each read's shard in this slot and in the previous
                  // (a's reads first).
                  "17", "p:top:all", "p:top:day:2024-01-31", "p:reads:a", "p:readers:a",
                  "p:readers-count:a", "p:reads:b", "p:readers:b", "p:readers-count:b",
                  "p:dedup:172800:10:count", "p:changes:head", "p:changes",
                  shard(10, "a", "r1", 1024), shard(9, "a", "r1", 2048), shard(10, "a", "r2", 1024),
                  shard(9, "a", "r2", 2048), shard(10, "b", "r1", 1024), shard(9, "b", "r1", 2048),
                  // ARGV: the slot's expiry (the end of slot 11), 1 day, 2 articles, 2 keys a read,
                  // look in the previous slot, not for older markers, how long (ms) and from how
                  // many readers their count is kept, the day's expiry, each article and its number
                  // of reads, each read's day (0: none), reader hash and marker.
                  absl::StrCat(12 * 172800), "1", "2", "2", "1", "0", "1500", "7", expiry, "a", "2",
                  "b", "1", "1", "hash", Field("a", "r1"), "1", "", Field("a", "r2"), "0", "",
                  Field("b", "r1")));
}

TEST(RedisReadCounterTest, RecordCommandsLookUpOlderMarkersOnlyWhenTheLayoutSays) {
  RedisReadCounterOptions options;
  options.pool_size = 1;
  const RedisReadCounter counter(options);
  const std::vector<Read> reads = {Read{"a", "r1", "", std::nullopt}};
  const DedupSlot slot{.seconds = 600, .index = 3};

  // A first slot (nothing before it) right after an upgrade: this slot's shard and the older
  // release's key.
  RedisCommand command =
      counter.RecordCommands(reads, {.slot = slot, .shards = 1024, .legacy = true}).front();
  EXPECT_THAT(std::vector<std::string>(command.begin() + 2, command.begin() + 11),
              ElementsAre("9", "newsroom:top:all", "newsroom:reads:a", "newsroom:readers:a",
                          "newsroom:readers-count:a", "newsroom:dedup:600:3:count",
                          "newsroom:changes:head", "newsroom:changes",
                          absl::StrCat("newsroom:dedup:600:3:", Shard("a", "r1", 1024))));
  EXPECT_EQ(command[11], "newsroom:seen:a:r1");
  // The readers count is kept for a second by default.
  EXPECT_THAT(std::vector<std::string>(command.begin() + 12, command.begin() + 20),
              ElementsAre(absl::StrCat(5 * 600), "0", "1", "2", "0", "1", "1000",
                          absl::StrCat(kKeptReadersCountFrom)));

  // All three.
  command = counter
                .RecordCommands(
                    reads, {.slot = slot, .shards = 1024, .previous_shards = 1024, .legacy = true})
                .front();
  EXPECT_EQ(command[2], "10");
  EXPECT_EQ(command[12], "newsroom:seen:a:r1");
  EXPECT_EQ(command[16], "3");
}

TEST(RedisReadCounterTest, RecordCommandsCarryAtMostMaxReadsPerScriptEach) {
  RedisReadCounterOptions options;
  options.pool_size = 1;
  options.max_reads_per_script = 2;
  const RedisReadCounter counter(options);
  const DedupLayout layout{.slot = {.seconds = 172800, .index = 10}};
  std::vector<Read> reads;
  for (int i = 0; i < 5; ++i) reads.push_back(Read{"a", std::to_string(i), "", std::nullopt});
  const std::vector<RedisCommand> commands = counter.RecordCommands(reads, layout);
  ASSERT_EQ(commands.size(), 3u);
  // top:all, a's three keys, the count, the change log's two keys, and a shard per read.
  EXPECT_EQ(commands[0][2], "9");
  EXPECT_EQ(commands[2][2], "8");
  // The last call's ARGV ends with its one article ("a", 1 read) and that read (no day, no
  // reader, its marker).
  EXPECT_THAT(std::vector<std::string>(commands[2].end() - 5, commands[2].end()),
              ElementsAre("a", "1", "0", "", Field("a", "4")));
  EXPECT_TRUE(counter.RecordCommands({}, layout).empty());
}

}  // namespace
}  // namespace newsroom::analytics
