// RedisReadCounter against a real redis-server: the batched record script's semantics, its
// grouping of reads into script calls, and its recovery after SCRIPT FLUSH.

#include "analytics-service/src/redis_read_counter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/support/dedup_markers.h"
#include "tests/support/process.h"

namespace newsroom::analytics {
namespace {

using ::newsroom::testing::RedisServer;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::Field;

// Today: a day ranking expires 32 days after its day, so an older day's would be gone at once.
const absl::CivilDay kDay = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());

std::string DayKey(absl::CivilDay day) {
  return absl::StrCat("newsroom:top:day:", absl::FormatCivilTime(day));
}

Read MakeRead(std::string article, std::string read_id, std::string reader = "",
              std::optional<absl::CivilDay> day = kDay) {
  return Read{std::move(article), std::move(read_id), std::move(reader), day};
}

// {reads, unique readers, duplicate} of each outcome, for compact expectations.
std::vector<std::vector<int64_t>> Summaries(const std::vector<RecordOutcome>& outcomes) {
  std::vector<std::vector<int64_t>> result;
  for (const RecordOutcome& outcome : outcomes) {
    result.push_back({outcome.counts.reads, outcome.counts.unique_readers, outcome.duplicate});
  }
  return result;
}

class RedisReadCounterTest : public ::testing::Test {
 protected:
  RedisReadCounterTest() : redis_(/*append_only=*/false), direct_(ConnectionOptions()) {}

  RedisConnectionOptions ConnectionOptions() const {
    RedisConnectionOptions options;
    options.port = redis_.port();
    return options;
  }

  // `now`: the counter's clock, which picks the dedup slot (the real one by default).
  std::unique_ptr<RedisReadCounter> MakeCounter(
      int pool_size = 2, absl::Duration dedup_window = kDefaultDedupWindow,
      std::function<absl::Time()> now = [] { return absl::Now(); }) {
    RedisReadCounterOptions options;
    options.connection = ConnectionOptions();
    options.pool_size = pool_size;
    options.dedup_window = dedup_window;
    options.now = std::move(now);
    return std::make_unique<RedisReadCounter>(options);
  }

  // Where the read's marker is in `slot`, whose shard count Redis holds.
  testing::DedupMarkerAddress MarkerIn(const DedupSlot& slot, absl::string_view article,
                                       absl::string_view read_id) {
    const std::string slot_prefix =
        absl::StrCat("newsroom:dedup:", slot.seconds, ":", slot.index, ":");
    int64_t shards = 0;
    EXPECT_TRUE(absl::SimpleAtoi(Redis({"GET", slot_prefix + "shards"}), &shards));
    return testing::DedupMarkerAt(slot_prefix, shards, article, read_id);
  }

  static absl::StatusOr<std::vector<RecordOutcome>> RecordNow(ReadCounter& counter,
                                                              std::vector<Read> reads) {
    absl::StatusOr<std::vector<RecordOutcome>> result;
    absl::Notification done;
    counter.Record(std::move(reads), [&](absl::StatusOr<std::vector<RecordOutcome>> outcomes) {
      result = std::move(outcomes);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  // Get of `article_ids` (GetRecent with `recent`), waited for.
  static absl::StatusOr<std::vector<ArticleCounts>> GetNow(ReadCounter& counter,
                                                           std::vector<std::string> article_ids,
                                                           bool recent = false) {
    absl::StatusOr<std::vector<ArticleCounts>> result;
    absl::Notification done;
    auto pass = [&](absl::StatusOr<std::vector<ArticleCounts>> counts) {
      result = std::move(counts);
      done.Notify();
    };
    if (recent) {
      counter.GetRecent(std::move(article_ids), std::move(pass));
    } else {
      counter.Get(std::move(article_ids), std::move(pass));
    }
    done.WaitForNotification();
    return result;
  }

  // Options for a counter of one connection whose kept readers counts outlive the test.
  RedisReadCounterOptions LongKeptCountOptions() const {
    RedisReadCounterOptions options;
    options.connection = ConnectionOptions();
    options.pool_size = 1;
    options.readers_count_max_age = absl::Hours(1);
    return options;
  }

  // Options for a counter of one connection that counts Redis's error replies by kind.
  RedisReadCounterOptions ErrorCountingOptions() {
    RedisReadCounterOptions options;
    options.connection = ConnectionOptions();
    options.pool_size = 1;
    for (std::size_t kind = 0; kind < error_replies_.size(); ++kind) {
      options.metrics.error_replies[kind] = &error_replies_[kind];
    }
    return options;
  }

  // Error replies of `kind` (one of kErrorReplyKinds) counted so far.
  uint64_t ErrorReplies(absl::string_view kind) const {
    const auto* at = std::find(std::begin(kErrorReplyKinds), std::end(kErrorReplyKinds), kind);
    return error_replies_[static_cast<std::size_t>(at - std::begin(kErrorReplyKinds))].value();
  }

  uint64_t AllErrorReplies() const {
    uint64_t all = 0;
    for (const metrics::Counter& kind : error_replies_) all += kind.value();
    return all;
  }

  // Records one read of article "a" now; returns its {reads, unique readers, duplicate}.
  static std::vector<int64_t> RecordOfA(ReadCounter& counter, absl::string_view read_id) {
    absl::StatusOr<std::vector<RecordOutcome>> outcomes =
        RecordNow(counter, {MakeRead("a", std::string(read_id))});
    EXPECT_TRUE(outcomes.ok()) << outcomes.status();
    return outcomes.ok() ? Summaries(*outcomes).front() : std::vector<int64_t>();
  }

  // Runs one command on a connection of the test's own; returns its reply as a string ("" for
  // nil, the number for an integer).
  std::string Redis(const RedisCommand& command) {
    absl::StatusOr<RedisReply> reply = direct_.Run(command);
    EXPECT_TRUE(reply.ok()) << reply.status();
    if (!reply.ok()) return "";
    if ((*reply)->type == REDIS_REPLY_INTEGER) return absl::StrCat((*reply)->integer);
    if ((*reply)->type == REDIS_REPLY_STRING || (*reply)->type == REDIS_REPLY_STATUS ||
        (*reply)->type == REDIS_REPLY_ERROR) {
      return std::string((*reply)->str, (*reply)->len);
    }
    return "";
  }

  // Gives `article` `readers` unique readers and `reads` reads (0: none), straight into Redis.
  void GiveReaders(absl::string_view article, int readers, int reads) {
    Redis({"EVAL",
           "for i = 1, tonumber(ARGV[1]) do redis.call('PFADD', KEYS[1], 'earlier-' .. i) end", "1",
           absl::StrCat("newsroom:readers:", article), absl::StrCat(readers)});
    if (reads > 0) Redis({"SET", absl::StrCat("newsroom:reads:", article), absl::StrCat(reads)});
  }

  // How many times Redis ran `command` since the last CONFIG RESETSTAT, from scripts included.
  int64_t Calls(const std::string& command) {
    const std::string stats = Redis({"INFO", "commandstats"});
    const std::string field = absl::StrCat("cmdstat_", command, ":calls=");
    const std::size_t at = stats.find(field);
    if (at == std::string::npos) return 0;
    int64_t calls = 0;
    const std::size_t begin = at + field.size();
    EXPECT_TRUE(absl::SimpleAtoi(stats.substr(begin, stats.find(',', begin) - begin), &calls));
    return calls;
  }

  RedisServer redis_;
  RedisConnection direct_;
  std::array<metrics::Counter, std::size(kErrorReplyKinds)> error_replies_;
};

TEST_F(RedisReadCounterTest, RepeatedReadIdInOneBatchCountsOnce) {
  auto counter = MakeCounter();
  const auto outcomes =
      RecordNow(*counter, {MakeRead("a", "r1"), MakeRead("a", "r1"), MakeRead("b", "r1"),
                           MakeRead("a", "r2"), MakeRead("a", "r1"), MakeRead("b", "r1")});
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  // Duplicates report the totals as they stood at their place in the batch.
  EXPECT_THAT(Summaries(*outcomes),
              ElementsAre(ElementsAre(1, 0, 0), ElementsAre(1, 0, 1), ElementsAre(1, 0, 0),
                          ElementsAre(2, 0, 0), ElementsAre(2, 0, 1), ElementsAre(1, 0, 1)));
  EXPECT_EQ(Redis({"GET", "newsroom:reads:a"}), "2");
  EXPECT_EQ(Redis({"GET", "newsroom:reads:b"}), "1");
  EXPECT_EQ(Redis({"ZSCORE", "newsroom:top:all", "a"}), "2");
  EXPECT_EQ(Redis({"ZSCORE", DayKey(kDay), "b"}), "1");

  // And against reads of an earlier batch: a duplicate before any new read still reports totals.
  const auto again = RecordNow(*counter, {MakeRead("a", "r2"), MakeRead("a", "r3")});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(Summaries(*again), ElementsAre(ElementsAre(2, 0, 1), ElementsAre(3, 0, 0)));
}

TEST_F(RedisReadCounterTest, ManyReadsOfOneArticleGetExactIncreasingTotals) {
  auto counter = MakeCounter();
  std::vector<Read> reads;
  for (int i = 0; i < 1000; ++i) {
    reads.push_back(MakeRead("hot", absl::StrCat("r", i), absl::StrCat("reader-", i % 100)));
  }
  const auto outcomes = RecordNow(*counter, reads);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_EQ(outcomes->size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ((*outcomes)[i].counts.reads, i + 1);
    EXPECT_FALSE((*outcomes)[i].duplicate);
    EXPECT_NEAR(static_cast<double>((*outcomes)[i].counts.unique_readers), 100, 2);
  }
  EXPECT_EQ(Redis({"GET", "newsroom:reads:hot"}), "1000");
  EXPECT_EQ(Redis({"ZSCORE", "newsroom:top:all", "hot"}), "1000");
  EXPECT_EQ(Redis({"ZSCORE", DayKey(kDay), "hot"}), "1000");
}

TEST_F(RedisReadCounterTest, MixedArticlesReadersAndReadsWithoutReader) {
  auto counter = MakeCounter();
  const auto outcomes =
      RecordNow(*counter, {MakeRead("a", "1", "x"), MakeRead("b", "1"), MakeRead("a", "2", "y"),
                           MakeRead("c", "1", "", std::nullopt), MakeRead("a", "3", "x"),
                           MakeRead("b", "2", "z"), MakeRead("a", "4")});
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  // Unique readers are counted once per article per call, after all of its reads in the call.
  EXPECT_THAT(Summaries(*outcomes),
              ElementsAre(ElementsAre(1, 2, 0), ElementsAre(1, 1, 0), ElementsAre(2, 2, 0),
                          ElementsAre(1, 0, 0), ElementsAre(3, 2, 0), ElementsAre(2, 1, 0),
                          ElementsAre(4, 2, 0)));
  EXPECT_EQ(Redis({"EXISTS", "newsroom:readers:c"}), "0");  // a read without reader adds none
  EXPECT_EQ(Redis({"ZSCORE", "newsroom:top:all", "c"}), "1");
  // A read older than every ranked period counts in the all-time ranking only.
  EXPECT_EQ(Redis({"ZSCORE", DayKey(kDay), "c"}), "");
  EXPECT_EQ(Redis({"ZSCORE", DayKey(kDay), "a"}), "4");
}

TEST_F(RedisReadCounterTest, DayRankingExpiryIsSetOnlyByAnArticlesFirstReadOfTheDay) {
  auto counter = MakeCounter();
  const absl::CivilDay next_day = kDay + 1;
  const auto expiry = [](absl::CivilDay day) {
    return absl::StrCat(absl::ToUnixSeconds(absl::FromCivil(day + 32, absl::UTCTimeZone())));
  };
  ASSERT_TRUE(RecordNow(*counter, {MakeRead("a", "1"), MakeRead("a", "2"), MakeRead("b", "1"),
                                   MakeRead("a", "3", "", next_day), MakeRead("b", "2")})
                  .ok());
  EXPECT_EQ(Redis({"EXPIRETIME", DayKey(kDay)}), expiry(kDay));
  EXPECT_EQ(Redis({"EXPIRETIME", DayKey(next_day)}), expiry(next_day));
  EXPECT_EQ(Redis({"ZSCORE", DayKey(kDay), "a"}), "2");
  EXPECT_EQ(Redis({"ZSCORE", DayKey(next_day), "a"}), "1");

  // Later reads of the same articles and days leave the expiry alone (moved here by hand, so
  // that setting it again would show); a duplicate too.
  const std::string moved = absl::StrCat(std::stoll(expiry(kDay)) + 1000);
  Redis({"EXPIREAT", DayKey(kDay), moved});
  Redis({"EXPIREAT", DayKey(next_day), moved});
  ASSERT_TRUE(RecordNow(*counter, {MakeRead("a", "4"), MakeRead("b", "3"), MakeRead("a", "1"),
                                   MakeRead("a", "5", "", next_day)})
                  .ok());
  EXPECT_EQ(Redis({"EXPIRETIME", DayKey(kDay)}), moved);
  EXPECT_EQ(Redis({"EXPIRETIME", DayKey(next_day)}), moved);
  // Another article's first read of the day sets it again.
  ASSERT_TRUE(RecordNow(*counter, {MakeRead("c", "1")}).ok());
  EXPECT_EQ(Redis({"EXPIRETIME", DayKey(kDay)}), expiry(kDay));
  EXPECT_EQ(Redis({"EXPIRETIME", DayKey(next_day)}), moved);
  // Totals never expire; a dedup marker's hash at the end of the slot after its own.
  EXPECT_EQ(Redis({"TTL", "newsroom:reads:a"}), "-1");
  const DedupSlot slot = DedupSlotAt(absl::Now(), kDefaultDedupWindow);
  const testing::DedupMarkerAddress marker = MarkerIn(slot, "a", "1");
  EXPECT_EQ(Redis({"HEXISTS", marker.key, marker.field}), "1");
  EXPECT_EQ(Redis({"EXPIRETIME", marker.key}), absl::StrCat((slot.index + 2) * 172800));
}

// A retry counts once for at least --dedup-window after the read, and again once two slots
// later. The counter's clock moves; Redis's does not, so every time here stays within the
// window of the real one (or the markers would expire at once).
TEST_F(RedisReadCounterTest, RetriesAreDuplicatesForAtLeastTheWindow) {
  const absl::Duration window = absl::Minutes(10);
  const DedupSlot now = DedupSlotAt(absl::Now(), window);
  absl::Time clock = absl::FromUnixSeconds(now.index * 600 + 599);  // the slot's last second
  auto counter = MakeCounter(/*pool_size=*/1, window, [&clock] { return clock; });
  const auto record = [&](absl::string_view read_id) { return RecordOfA(*counter, read_id); };
  EXPECT_THAT(record("1"), ElementsAre(1, 0, 0));
  EXPECT_THAT(record("1"), ElementsAre(1, 0, 1));
  const testing::DedupMarkerAddress marker = MarkerIn(now, "a", "1");
  EXPECT_EQ(Redis({"HEXISTS", marker.key, marker.field}), "1");
  EXPECT_EQ(Redis({"EXPIRETIME", marker.key}), absl::StrCat((now.index + 2) * 600));

  // A whole window later, in the next slot: found in the previous slot, and not marked again.
  clock += window;
  EXPECT_THAT(record("1"), ElementsAre(1, 0, 1));
  EXPECT_EQ(Redis({"HLEN", MarkerIn({600, now.index + 1}, "a", "1").key}), "0");
  // A read first seen in the next slot is marked there.
  EXPECT_THAT(record("2"), ElementsAre(2, 0, 0));
  EXPECT_THAT(record("2"), ElementsAre(2, 0, 1));

  // Two slots on, the first read's slot is no longer looked in: it counts again.
  clock = absl::FromUnixSeconds((now.index + 2) * 600);
  EXPECT_THAT(record("1"), ElementsAre(3, 0, 0));
  EXPECT_THAT(record("2"), ElementsAre(3, 0, 1));
}

// Each slot's shard count is fixed once, by whichever process records its first read, from the
// markers the slot before it took; every process then agrees on where a marker is.
TEST_F(RedisReadCounterTest, ASlotsShardsFollowThePreviousSlotsMarkers) {
  const absl::Duration window = absl::Minutes(10);
  const DedupSlot now = DedupSlotAt(absl::Now(), window);
  const std::string slot_key = absl::StrCat("newsroom:dedup:600:", now.index, ":");

  // Nothing counted before, and a near-empty Redis: the fewest shards.
  auto first = MakeCounter(/*pool_size=*/1, window);
  ASSERT_TRUE(RecordNow(*first, {MakeRead("a", "1")}).ok());
  EXPECT_EQ(Redis({"GET", slot_key + "shards"}), "1024");
  EXPECT_EQ(Redis({"GET", slot_key + "count"}), "1");
  EXPECT_EQ(Redis({"EXPIRETIME", slot_key + "shards"}), absl::StrCat((now.index + 2) * 600));
  EXPECT_EQ(Redis({"EXPIRETIME", slot_key + "count"}), absl::StrCat((now.index + 2) * 600));

  // The next slot: 1 000 000 markers in this one (set by hand) ask for 1 000 000 / 64 = 15 625
  // shards, so 16 384, the next power of two.
  Redis({"SET", slot_key + "count", "1000000"});
  absl::Time later = absl::FromUnixSeconds((now.index + 1) * 600);
  auto next = MakeCounter(/*pool_size=*/1, window, [&later] { return later; });
  ASSERT_TRUE(RecordNow(*next, {MakeRead("a", "2"), MakeRead("b", "1")}).ok());
  const DedupSlot next_slot{600, now.index + 1};
  EXPECT_EQ(Redis({"GET", absl::StrCat("newsroom:dedup:600:", next_slot.index, ":shards")}),
            "16384");
  // Another process, later in the same slot, keeps that count whatever it finds.
  Redis({"SET", slot_key + "count", "5"});
  auto another = MakeCounter(/*pool_size=*/1, window, [&later] { return later; });
  const auto retry = RecordNow(*another, {MakeRead("a", "2"), MakeRead("a", "1")});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_THAT(Summaries(*retry), ElementsAre(ElementsAre(2, 0, 1), ElementsAre(2, 0, 1)));
  for (const auto& [article, read_id] : {std::pair{"a", "2"}, std::pair{"b", "1"}}) {
    const testing::DedupMarkerAddress marker = MarkerIn(next_slot, article, read_id);
    EXPECT_EQ(Redis({"HEXISTS", marker.key, marker.field}), "1") << article << read_id;
  }
}

// A slot after one with no markers (a new deployment, or right after an upgrade from one-key
// markers) gets the fewest shards, however many keys Redis holds (they may be another
// application's).
TEST_F(RedisReadCounterTest, ASlotAfterNoneGetsTheFewestShards) {
  for (int i = 0; i < 200000; i += 1000) {
    RedisCommand mset = {"MSET"};
    for (int k = i; k < i + 1000; ++k) {
      mset.push_back(absl::StrCat("newsroom:seen:a:old-", k));
      mset.push_back("1");
    }
    Redis(mset);
  }
  auto counter = MakeCounter(/*pool_size=*/1);
  ASSERT_TRUE(RecordNow(*counter, {MakeRead("a", "new")}).ok());
  const DedupSlot slot = DedupSlotAt(absl::Now(), kDefaultDedupWindow);
  EXPECT_EQ(Redis({"GET", absl::StrCat("newsroom:dedup:172800:", slot.index, ":shards")}), "1024");
}

// While the previous slot has no markers, the layout is read again within seconds: a replica
// whose clock is a little behind may mark reads there after this one looked.
TEST_F(RedisReadCounterTest, AnEmptyPreviousSlotIsLookedAtAgainSoon) {
  const absl::Duration window = absl::Minutes(10);
  const DedupSlot now = DedupSlotAt(absl::Now(), window);
  absl::Time clock = absl::FromUnixSeconds(now.index * 600 + 1);
  auto ahead = MakeCounter(/*pool_size=*/1, window, [&clock] { return clock; });
  ASSERT_TRUE(RecordNow(*ahead, {MakeRead("a", "1")}).ok());  // slot `now`, none before it

  // The replica behind, still in the previous slot, marks a read there.
  absl::Time behind_clock = absl::FromUnixSeconds(now.index * 600 - 1);
  auto behind = MakeCounter(/*pool_size=*/1, window, [&behind_clock] { return behind_clock; });
  ASSERT_TRUE(RecordNow(*behind, {MakeRead("a", "2")}).ok());

  // A retry of it through the first, 6 s later, finds it.
  clock += absl::Seconds(6);
  const auto retry = RecordNow(*ahead, {MakeRead("a", "2")});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_THAT(Summaries(*retry), ElementsAre(ElementsAre(2, 0, 1)));
}

// Each process's start looks up older releases' markers for a window and an hour again, since
// it may follow a rollback to such a release (which then wrote one key per read).
TEST_F(RedisReadCounterTest, AProcessStartLooksUpOlderMarkersAgain) {
  const absl::Duration window = absl::Minutes(10);
  const absl::Time started = absl::Now();
  Redis({"SET", "newsroom:dedup:legacy-until", absl::StrCat(absl::ToUnixSeconds(started) - 1)});
  Redis({"SET", "newsroom:seen:a:during-rollback", "1", "EX", "600"});
  auto counter = MakeCounter(/*pool_size=*/1, window);
  const auto retry = RecordNow(*counter, {MakeRead("a", "during-rollback")});
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_THAT(Summaries(*retry), ElementsAre(ElementsAre(0, 0, 1)));
  EXPECT_GE(std::stoll(Redis({"GET", "newsroom:dedup:legacy-until"})),
            absl::ToUnixSeconds(started) + 600 + 3600);
}

// What is not a whole number where the end of those lookups belongs (Lua's tonumber would take
// "nan" and never move it) is replaced on a process's start.
TEST_F(RedisReadCounterTest, AGarbledEndOfOlderMarkerLookupsIsReplaced) {
  Redis({"SET", "newsroom:dedup:legacy-until", "nan"});
  Redis({"SET", "newsroom:seen:a:old", "1", "EX", "600"});
  auto counter = MakeCounter(/*pool_size=*/1, absl::Minutes(10));
  EXPECT_THAT(RecordOfA(*counter, "old"), ElementsAre(0, 0, 1));
  EXPECT_GT(std::stoll(Redis({"GET", "newsroom:dedup:legacy-until"})),
            absl::ToUnixSeconds(absl::Now()));
}

// The layout script's cache may be flushed too: the next slot's first call loads it again.
TEST_F(RedisReadCounterTest, ReloadsTheLayoutScriptAfterScriptFlush) {
  const absl::Duration window = absl::Minutes(10);
  const DedupSlot now = DedupSlotAt(absl::Now(), window);
  absl::Time clock = absl::FromUnixSeconds(now.index * 600 + 599);
  auto counter = MakeCounter(/*pool_size=*/1, window, [&clock] { return clock; });
  ASSERT_TRUE(RecordNow(*counter, {MakeRead("a", "1")}).ok());
  Redis({"SCRIPT", "FLUSH"});
  clock += absl::Seconds(2);  // the next slot: its layout is asked for first
  const auto outcomes = RecordNow(*counter, {MakeRead("a", "1"), MakeRead("a", "2")});
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  EXPECT_THAT(Summaries(*outcomes), ElementsAre(ElementsAre(1, 0, 1), ElementsAre(2, 0, 0)));
}

// A layout Redis cannot give (here a key of the wrong type where a slot's shard count belongs)
// fails the reads, with the error reply counted once a batch, and counts nothing.
TEST_F(RedisReadCounterTest, AnUnreadableLayoutFailsTheReads) {
  RedisReadCounter counter(ErrorCountingOptions());
  const DedupSlot slot = DedupSlotAt(absl::Now(), kDefaultDedupWindow);
  Redis({"HSET", absl::StrCat("newsroom:dedup:172800:", slot.index, ":shards"), "f", "v"});
  const auto failed = RecordNow(counter, {MakeRead("a", "1"), MakeRead("b", "1")});
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal) << failed.status();
  EXPECT_EQ(ErrorReplies("wrongtype"), 1u);
  EXPECT_EQ(AllErrorReplies(), 1u);
  EXPECT_EQ(Redis({"GET", "newsroom:reads:a"}), "");

  // A shard count that is not a power of two was not written by us: refused too.
  Redis({"SET", absl::StrCat("newsroom:dedup:172800:", slot.index, ":shards"), "1000"});
  const auto refused = RecordNow(counter, {MakeRead("a", "1")});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInternal) << refused.status();
  EXPECT_EQ(Redis({"GET", "newsroom:reads:a"}), "");
}

// After an upgrade, a retry of a read that an older release marked with its own key (SET NX EX,
// one key a read) is still a duplicate, for one window and an hour after a process of this
// release started; the older keys are only read, never written.
TEST_F(RedisReadCounterTest, OlderReleasesMarkersAreDuplicatesForOneWindow) {
  const absl::Duration window = absl::Minutes(10);
  Redis({"SET", "newsroom:seen:a:old", "1", "EX", "600"});
  const absl::Time started = absl::Now();
  absl::Time clock = started;
  auto counter = MakeCounter(/*pool_size=*/1, window, [&clock] { return clock; });
  const auto record = [&](absl::string_view read_id) { return RecordOfA(*counter, read_id); };
  EXPECT_THAT(record("old"), ElementsAre(0, 0, 1));
  EXPECT_THAT(record("new"), ElementsAre(1, 0, 0));
  EXPECT_EQ(Redis({"EXISTS", "newsroom:seen:a:new"}), "0");
  const int64_t until = std::stoll(Redis({"GET", "newsroom:dedup:legacy-until"}));
  EXPECT_GE(until, absl::ToUnixSeconds(started) + 600 + 3600);
  EXPECT_LE(until, absl::ToUnixSeconds(started) + 600 + 3600 + 5);

  // The process's later asks (here, in later slots) do not move that end; only a start does.
  clock = absl::FromUnixSeconds(until - 1);
  ASSERT_TRUE(RecordNow(*counter, {MakeRead("b", "1")}).ok());
  EXPECT_EQ(Redis({"GET", "newsroom:dedup:legacy-until"}), absl::StrCat(until));

  // Past it, the older key is no longer looked up (Redis still holds it here: its clock did not
  // move), so the read counts.
  clock = absl::FromUnixSeconds(until);
  EXPECT_THAT(record("old"), ElementsAre(2, 0, 0));
}

// A marker is a 12-byte field in a small hash: about 20 bytes, where a key per read took 130 to
// 180. Redis's memory is what bounds how many reads a window can hold.
TEST_F(RedisReadCounterTest, MarkersAreCompact) {
  auto counter = MakeCounter(/*pool_size=*/1);
  ASSERT_TRUE(RecordNow(*counter, {MakeRead("a", "first")}).ok());
  const auto used_memory = [&] {
    const std::string info = Redis({"INFO", "memory"});
    const std::size_t at = info.find("used_memory:") + std::string("used_memory:").size();
    return std::stoll(info.substr(at, info.find('\r', at) - at));
  };
  const int64_t before = used_memory();
  constexpr int kReads = 50000;
  for (int i = 0; i < kReads; i += 500) {
    std::vector<Read> reads;
    for (int k = i; k < i + 500; ++k) {
      reads.push_back(MakeRead("a", absl::StrCat("cs-0123456789abcdef0123456789", k), "", {}));
    }
    ASSERT_TRUE(RecordNow(*counter, std::move(reads)).ok());
  }
  const double bytes_per_read = static_cast<double>(used_memory() - before) / kReads;
  EXPECT_LT(bytes_per_read, 40) << "the hashes lost their compact encoding?";
  const DedupSlot slot = DedupSlotAt(absl::Now(), kDefaultDedupWindow);
  const testing::DedupMarkerAddress marker = MarkerIn(slot, "a", "first");
  EXPECT_EQ(Redis({"OBJECT", "ENCODING", marker.key}), "listpack");
  std::printf("dedup markers: %.1f bytes a read over %d reads\n", bytes_per_read, kReads);
}

TEST_F(RedisReadCounterTest, OneScriptCallPerChunkAndOneUniqueCountPerArticle) {
  auto counter = MakeCounter();
  // 900 reads of 3 articles, interleaved, then a repeat of art0's first read id: 901 reads, so 4
  // script calls of at most 256. Grouped by article they run art0 x 301 | art1 x 300 | art2 x 300,
  // so the calls hold art0 | art0, art1 | art1, art2 | art2: 6 unique counts, not 901.
  std::vector<Read> reads;
  for (int i = 0; i < 900; ++i) {
    reads.push_back(
        MakeRead(absl::StrCat("art", i % 3), absl::StrCat("r", i / 3), absl::StrCat("reader-", i)));
  }
  reads.push_back(MakeRead("art0", "r0", "late"));  // a duplicate of a read in an earlier call
  // One read first, so that the counter has read the marker layout (a script call of its own).
  ASSERT_TRUE(RecordNow(*counter, {MakeRead("other", "r0")}).ok());
  Redis({"CONFIG", "RESETSTAT"});
  const auto outcomes = RecordNow(*counter, reads);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_EQ(outcomes->size(), 901u);
  EXPECT_EQ(Calls("evalsha"), 4);
  EXPECT_EQ(Calls("pfcount"), 6);
  EXPECT_EQ(Calls("hsetnx"), 901);
  EXPECT_EQ(Calls("set"), 0);  // nothing marks a read with a key of its own any more
  // The slot's count: the warm-up read and the 900 new ones, not the duplicate.
  EXPECT_EQ(
      Redis({"GET", absl::StrCat("newsroom:dedup:172800:",
                                 DedupSlotAt(absl::Now(), kDefaultDedupWindow).index, ":count")}),
      "901");
  for (int i = 0; i < 900; ++i) {
    EXPECT_EQ((*outcomes)[i].counts.reads, i / 3 + 1) << i;
    EXPECT_FALSE((*outcomes)[i].duplicate) << i;
  }
  EXPECT_TRUE(outcomes->back().duplicate);
  EXPECT_EQ(outcomes->back().counts.reads, 300);
  for (const char* article : {"art0", "art1", "art2"}) {
    EXPECT_EQ(Redis({"GET", absl::StrCat("newsroom:reads:", article)}), "300");
    EXPECT_EQ(Redis({"ZSCORE", "newsroom:top:all", article}), "300");
  }
}

TEST_F(RedisReadCounterTest, ABigReadershipIsCountedOncePerMaxAgeAndASmallOneEveryCall) {
  RedisReadCounter counter(LongKeptCountOptions());
  // "big" has 5000 readers and reads already: its HyperLogLog is dense, as a popular article's.
  // "imported" has as many readers but few reads, which cannot be: it is counted every call.
  GiveReaders("big", 5000, /*reads=*/5000);
  GiveReaders("imported", 5000, /*reads=*/0);
  ASSERT_TRUE(RecordNow(counter, {MakeRead("other", "r0")}).ok());  // reads the marker layout
  Redis({"CONFIG", "RESETSTAT"});

  // The first read counts the readers and keeps the count for the maximum age.
  absl::StatusOr<std::vector<RecordOutcome>> outcomes =
      RecordNow(counter, {MakeRead("big", "r0", "new-reader-0")});
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  const int64_t counted = outcomes->front().counts.unique_readers;
  EXPECT_NEAR(static_cast<double>(counted), 5001, 5001 * 0.03);
  EXPECT_EQ(Redis({"GET", "newsroom:readers-count:big"}), absl::StrCat(counted));
  int64_t ttl_ms = 0;
  ASSERT_TRUE(absl::SimpleAtoi(Redis({"PTTL", "newsroom:readers-count:big"}), &ttl_ms));
  EXPECT_GT(ttl_ms, 3500 * 1000);
  EXPECT_LE(ttl_ms, 3600 * 1000);

  // Later reads, by new readers too, return that count; their totals stay exact.
  for (int i = 1; i <= 20; ++i) {
    outcomes =
        RecordNow(counter, {MakeRead("big", absl::StrCat("r", i), absl::StrCat("new-reader-", i))});
    ASSERT_TRUE(outcomes.ok()) << outcomes.status();
    EXPECT_EQ(Summaries(*outcomes).front(), (std::vector<int64_t>{5001 + i, counted, 0})) << i;
  }
  EXPECT_EQ(Calls("pfcount"), 1);
  EXPECT_EQ(Calls("pfadd"), 21);  // every reader is still added

  // Once the kept count is gone (it expired), the next read counts again and keeps the new count.
  Redis({"DEL", "newsroom:readers-count:big"});
  outcomes = RecordNow(counter, {MakeRead("big", "r21", "new-reader-21")});
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  const int64_t recounted = outcomes->front().counts.unique_readers;
  EXPECT_EQ(Calls("pfcount"), 2);
  EXPECT_EQ(recounted, std::stoll(Redis({"PFCOUNT", "newsroom:readers:big"})));
  EXPECT_EQ(Redis({"GET", "newsroom:readers-count:big"}), absl::StrCat(recounted));

  // A recorded read and the pollers (GetRecent) return the kept count (here a planted one), while
  // stats calls (Get) count afresh.
  Redis({"SET", "newsroom:readers-count:big", "7"});
  outcomes = RecordNow(counter, {MakeRead("big", "r22", "new-reader-22")});
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  EXPECT_EQ(outcomes->front().counts.unique_readers, 7);
  absl::StatusOr<std::vector<ArticleCounts>> stats = GetNow(counter, {"big"}, /*recent=*/true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(((*stats)[0]), (ArticleCounts{5023, 7}));
  stats = GetNow(counter, {"big"});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->front().reads, 5023);
  EXPECT_EQ(stats->front().unique_readers, std::stoll(Redis({"PFCOUNT", "newsroom:readers:big"})));

  // A kept count that is not a whole number, or a key of another type, is counted again and
  // replaced rather than failing the read.
  int garbled = 0;
  for (const RedisCommand& garble :
       {RedisCommand{"SET", "newsroom:readers-count:big", "nan"},
        RedisCommand{"SET", "newsroom:readers-count:big", "99999999999999999999"},
        RedisCommand{"HSET", "newsroom:readers-count:big", "f", "1"}}) {
    if (garble[0] == "HSET") Redis({"DEL", "newsroom:readers-count:big"});
    Redis(garble);
    outcomes = RecordNow(counter, {MakeRead("big", absl::StrCat("garbled-", ++garbled))});
    ASSERT_TRUE(outcomes.ok()) << outcomes.status();
    const int64_t now_counted = std::stoll(Redis({"PFCOUNT", "newsroom:readers:big"}));
    EXPECT_EQ(outcomes->front().counts.unique_readers, now_counted) << garble[0];
    EXPECT_EQ(Redis({"GET", "newsroom:readers-count:big"}), absl::StrCat(now_counted));
  }

  // A small readership is counted on every call, so a new reader is in the count at once, and
  // nothing is kept for it.
  for (int i = 1; i <= 3; ++i) {
    outcomes =
        RecordNow(counter, {MakeRead("small", absl::StrCat("r", i), absl::StrCat("reader-", i))});
    ASSERT_TRUE(outcomes.ok()) << outcomes.status();
    EXPECT_EQ(Summaries(*outcomes).front(), (std::vector<int64_t>{i, i, 0}));
  }
  EXPECT_EQ(Redis({"EXISTS", "newsroom:readers-count:small"}), "0");
  for (int i = 1; i <= 2; ++i) {
    outcomes = RecordNow(counter, {MakeRead("imported", absl::StrCat("r", i))});
    ASSERT_TRUE(outcomes.ok()) << outcomes.status();
    EXPECT_EQ(outcomes->front().counts.unique_readers,
              std::stoll(Redis({"PFCOUNT", "newsroom:readers:imported"})));
  }
  EXPECT_EQ(Redis({"EXISTS", "newsroom:readers-count:imported"}), "0");
}

// The pollers behind the watch streams (GetRecent) count and keep readers as recorded reads do: a
// dense HyperLogLog is counted once per maximum age, however often they ask.
TEST_F(RedisReadCounterTest, RecentStatsKeepABigReadershipsCountAndCountASmallOneEveryCall) {
  RedisReadCounter counter(LongKeptCountOptions());
  GiveReaders("big", 5000, /*reads=*/5000);
  GiveReaders("small", 10, /*reads=*/10);
  GiveReaders("imported", 5000, /*reads=*/0);  // few reads: counted every call, as when recorded
  const int64_t small = std::stoll(Redis({"PFCOUNT", "newsroom:readers:small"}));
  const int64_t imported = std::stoll(Redis({"PFCOUNT", "newsroom:readers:imported"}));
  Redis({"CONFIG", "RESETSTAT"});

  absl::StatusOr<std::vector<ArticleCounts>> stats =
      GetNow(counter, {"big", "small", "imported", "none"}, /*recent=*/true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->size(), 4u);
  const int64_t big = (*stats)[0].unique_readers;
  EXPECT_NEAR(static_cast<double>(big), 5000, 5000 * 0.03);
  EXPECT_EQ((*stats)[0].reads, 5000);
  EXPECT_EQ(((*stats)[1]), (ArticleCounts{10, small}));
  EXPECT_EQ(((*stats)[2]), (ArticleCounts{0, imported}));
  EXPECT_EQ(((*stats)[3]), (ArticleCounts{0, 0}));
  EXPECT_EQ(Calls("pfcount"), 4);  // one per article: none had a count kept
  EXPECT_EQ(Calls("evalsha"), 1);
  EXPECT_EQ(Redis({"GET", "newsroom:readers-count:big"}), absl::StrCat(big));
  int64_t ttl_ms = 0;
  ASSERT_TRUE(absl::SimpleAtoi(Redis({"PTTL", "newsroom:readers-count:big"}), &ttl_ms));
  EXPECT_GT(ttl_ms, 3500 * 1000);
  EXPECT_EQ(Redis({"EXISTS", "newsroom:readers-count:small"}), "0");
  EXPECT_EQ(Redis({"EXISTS", "newsroom:readers-count:imported"}), "0");

  // New readers, and a second call: the big article's count is the kept one, counted no more;
  // the small one's includes them at once. A recorded read returns the kept count too.
  Redis({"EVAL", "for i = 1, 100 do redis.call('PFADD', KEYS[1], 'later-' .. i) end", "1",
         "newsroom:readers:big"});
  Redis({"PFADD", "newsroom:readers:small", "a-new-reader"});
  Redis({"CONFIG", "RESETSTAT"});
  stats = GetNow(counter, {"big", "small"}, /*recent=*/true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(((*stats)[0]), (ArticleCounts{5000, big}));
  EXPECT_EQ((*stats)[1].unique_readers, small + 1);
  EXPECT_EQ(Calls("pfcount"), 1);
  const absl::StatusOr<std::vector<RecordOutcome>> outcomes =
      RecordNow(counter, {MakeRead("big", "r0", "reader-0")});
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  EXPECT_EQ(Summaries(*outcomes).front(), (std::vector<int64_t>{5001, big, 0}));

  // Once the kept count is gone, the next call counts again and keeps the new count.
  Redis({"DEL", "newsroom:readers-count:big"});
  stats = GetNow(counter, {"big"}, /*recent=*/true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  const int64_t recounted = std::stoll(Redis({"PFCOUNT", "newsroom:readers:big"}));
  EXPECT_GT(recounted, big);
  EXPECT_EQ(((*stats)[0]), (ArticleCounts{5001, recounted}));
  EXPECT_EQ(Redis({"GET", "newsroom:readers-count:big"}), absl::StrCat(recounted));

  // A full Redis (noeviction) still answers; the count is not kept then.
  Redis({"DEL", "newsroom:readers-count:big"});
  Redis({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  Redis({"CONFIG", "SET", "maxmemory", "1"});
  stats = GetNow(counter, {"big", "small"}, /*recent=*/true);
  Redis({"CONFIG", "SET", "maxmemory", "0"});
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(((*stats)[0]), (ArticleCounts{5001, recounted}));
  EXPECT_EQ(Redis({"EXISTS", "newsroom:readers-count:big"}), "0");
}

TEST_F(RedisReadCounterTest, RecentStatsOfManyArticlesComeInOrderFromAScriptCallPerHundred) {
  auto counter = MakeCounter(/*pool_size=*/1);
  std::vector<std::string> ids;
  for (int i = 0; i < 250; ++i) {
    ids.push_back(absl::StrCat("article-", i));
    if (i % 2 == 0) Redis({"SET", absl::StrCat("newsroom:reads:article-", i), absl::StrCat(i)});
  }
  Redis({"CONFIG", "RESETSTAT"});
  const absl::StatusOr<std::vector<ArticleCounts>> stats = GetNow(*counter, ids, /*recent=*/true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->size(), 250u);
  for (int i = 0; i < 250; ++i) {
    EXPECT_EQ((*stats)[i].reads, i % 2 == 0 ? i : 0) << i;
  }
  EXPECT_EQ(Calls("evalsha"), 3);
  EXPECT_TRUE(GetNow(*counter, {}, /*recent=*/true).ok());
}

// A GetRecent weighs its articles, not only its script calls, in the bound on queued work: one
// script call of 100 articles weighs 101 and is refused under a bound of 100; of 99, it fits.
TEST_F(RedisReadCounterTest, RecentStatsWeighTheirArticlesInTheQueueBound) {
  RedisReadCounterOptions options;
  options.connection = ConnectionOptions();
  options.pool_size = 1;
  options.max_queued_commands = 100;
  RedisReadCounter counter(options);
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(absl::StrCat("article-", i));
  const absl::StatusOr<std::vector<ArticleCounts>> refused = GetNow(counter, ids, /*recent=*/true);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable) << refused.status();
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("too much work queued"));
  ids.pop_back();
  const absl::StatusOr<std::vector<ArticleCounts>> answered = GetNow(counter, ids, /*recent=*/true);
  ASSERT_TRUE(answered.ok()) << answered.status();
  EXPECT_EQ(answered->size(), 99u);
}

TEST_F(RedisReadCounterTest, RecentStatsFailOnAKeyOfAnotherTypeOrATotalThatIsNotANumber) {
  auto counter = MakeCounter(/*pool_size=*/1);
  Redis({"SET", "newsroom:reads:good", "3"});
  Redis({"HSET", "newsroom:reads:hash", "field", "value"});
  Redis({"SET", "newsroom:reads:words", "three"});
  EXPECT_EQ(GetNow(*counter, {"good", "hash"}, /*recent=*/true).status().code(),
            absl::StatusCode::kInternal);
  EXPECT_EQ(GetNow(*counter, {"words", "good"}, /*recent=*/true).status().code(),
            absl::StatusCode::kInternal);
  const absl::StatusOr<std::vector<ArticleCounts>> stats =
      GetNow(*counter, {"good"}, /*recent=*/true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->front().reads, 3);
}

TEST_F(RedisReadCounterTest, ReloadsTheRecentStatsScriptAfterScriptFlush) {
  auto counter = MakeCounter(/*pool_size=*/1);
  Redis({"SET", "newsroom:reads:a", "2"});
  ASSERT_TRUE(GetNow(*counter, {"a"}, /*recent=*/true).ok());
  Redis({"SCRIPT", "FLUSH"});
  const absl::StatusOr<std::vector<ArticleCounts>> stats = GetNow(*counter, {"a"}, /*recent=*/true);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->front().reads, 2);
}

TEST_F(RedisReadCounterTest, EachArticleOfACallKeepsItsOwnCount) {
  auto counter = MakeCounter();
  GiveReaders("big", 3000, /*reads=*/3000);
  GiveReaders("bigger", 20000, /*reads=*/20000);
  const std::vector<Read> reads = {MakeRead("big", "r0", "new-0"),
                                   MakeRead("bigger", "r0", "new-0"),
                                   MakeRead("big", "r1", "new-1")};
  const auto outcomes = RecordNow(*counter, reads);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  const int64_t big = std::stoll(Redis({"PFCOUNT", "newsroom:readers:big"}));
  const int64_t bigger = std::stoll(Redis({"PFCOUNT", "newsroom:readers:bigger"}));
  ASSERT_GT(bigger, big * 5);
  EXPECT_EQ(Summaries(*outcomes), (std::vector<std::vector<int64_t>>{
                                      {3001, big, 0}, {20001, bigger, 0}, {3002, big, 0}}));
  EXPECT_EQ(Redis({"GET", "newsroom:readers-count:big"}), absl::StrCat(big));
  EXPECT_EQ(Redis({"GET", "newsroom:readers-count:bigger"}), absl::StrCat(bigger));
}

TEST_F(RedisReadCounterTest, ACountIsKeptFromExactlyTheThreshold) {
  GiveReaders("edge", 40, /*reads=*/1000);
  const int64_t readers = std::stoll(Redis({"PFCOUNT", "newsroom:readers:edge"}));
  for (const int64_t kept_from : {readers + 1, readers}) {
    RedisReadCounterOptions options;
    options.connection = ConnectionOptions();
    options.pool_size = 1;
    options.readers_count_kept_from = kept_from;
    RedisReadCounter counter(options);
    // A read without a reader: the count stays `readers`.
    const auto outcomes = RecordNow(counter, {MakeRead("edge", absl::StrCat("r", kept_from))});
    ASSERT_TRUE(outcomes.ok()) << outcomes.status();
    EXPECT_EQ(outcomes->front().counts.unique_readers, readers);
    EXPECT_EQ(Redis({"GET", "newsroom:readers-count:edge"}),
              kept_from == readers ? absl::StrCat(readers) : "")
        << kept_from;
  }
}

TEST_F(RedisReadCounterTest, ACountIsLookedForOnlyFromAsManyReadsAsTheThreshold) {
  GiveReaders("edge", 40, /*reads=*/0);
  const int64_t readers = std::stoll(Redis({"PFCOUNT", "newsroom:readers:edge"}));
  Redis({"SET", "newsroom:reads:edge", absl::StrCat(readers - 2)});
  RedisReadCounterOptions options;
  options.connection = ConnectionOptions();
  options.pool_size = 1;
  options.readers_count_kept_from = readers;
  RedisReadCounter counter(options);
  // One read fewer than the threshold: counted, nothing kept. As many: kept.
  ASSERT_TRUE(RecordNow(counter, {MakeRead("edge", "r1")}).ok());
  EXPECT_EQ(Redis({"EXISTS", "newsroom:readers-count:edge"}), "0");
  ASSERT_TRUE(RecordNow(counter, {MakeRead("edge", "r2")}).ok());
  EXPECT_EQ(Redis({"GET", "newsroom:readers-count:edge"}), absl::StrCat(readers));
}

TEST_F(RedisReadCounterTest, AFullRedisStillAnswersARetryOfABigReadership) {
  const absl::Duration window = absl::Minutes(10);
  const DedupSlot slot = DedupSlotAt(absl::Now(), window);
  absl::Time clock = absl::FromUnixSeconds(slot.index * 600);
  RedisReadCounterOptions options = ErrorCountingOptions();
  options.dedup_window = window;
  options.now = [&clock] { return clock; };
  RedisReadCounter counter(options);
  GiveReaders("big", 3000, /*reads=*/3000);
  ASSERT_TRUE(RecordNow(counter, {MakeRead("big", "r0", "reader-0")}).ok());
  // In the next slot the read's marker is in the previous slot, where a retry only looks it up.
  clock += window;
  ASSERT_TRUE(RecordNow(counter, {MakeRead("other", "r0")}).ok());  // reads the slot's layout
  Redis({"DEL", "newsroom:readers-count:big"});
  // Full: Redis refuses every command that could take memory (noeviction), SET included.
  Redis({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  Redis({"CONFIG", "SET", "maxmemory", "1"});

  // The retry writes nothing, so it is answered, with a count that could not be kept.
  absl::StatusOr<std::vector<RecordOutcome>> outcomes =
      RecordNow(counter, {MakeRead("big", "r0", "reader-0")});
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  EXPECT_EQ(
      Summaries(*outcomes).front(),
      (std::vector<int64_t>{3001, std::stoll(Redis({"PFCOUNT", "newsroom:readers:big"})), 1}));
  EXPECT_EQ(Redis({"EXISTS", "newsroom:readers-count:big"}), "0");
  EXPECT_EQ(AllErrorReplies(), 0u);
  // A new read cannot be marked, so it fails uncounted (its caller retries it).
  outcomes = RecordNow(counter, {MakeRead("big", "r1", "reader-1")});
  EXPECT_FALSE(outcomes.ok());
  EXPECT_EQ(ErrorReplies("oom"), 1u);
  EXPECT_EQ(Redis({"GET", "newsroom:reads:big"}), "3001");
}

TEST_F(RedisReadCounterTest, AKeptReadersCountLivesForTheMaxAge) {
  RedisReadCounterOptions options;
  options.connection = ConnectionOptions();
  options.pool_size = 1;
  options.readers_count_max_age = absl::Milliseconds(250);
  RedisReadCounter counter(options);
  GiveReaders("big", 2000, /*reads=*/2000);
  ASSERT_TRUE(RecordNow(counter, {MakeRead("big", "r0", "new-reader")}).ok());
  int64_t ttl_ms = 0;
  ASSERT_TRUE(absl::SimpleAtoi(Redis({"PTTL", "newsroom:readers-count:big"}), &ttl_ms));
  EXPECT_GT(ttl_ms, 0);
  EXPECT_LE(ttl_ms, 250);
}

TEST_F(RedisReadCounterTest, ReloadsTheScriptAfterScriptFlush) {
  auto counter = MakeCounter(/*pool_size=*/1);
  ASSERT_TRUE(RecordNow(*counter, {MakeRead("a", "0")}).ok());
  Redis({"SCRIPT", "FLUSH"});
  std::vector<Read> reads;
  for (int i = 1; i <= 300; ++i) reads.push_back(MakeRead("a", absl::StrCat(i)));
  const auto outcomes = RecordNow(*counter, reads);  // two script calls, both NOSCRIPT at first
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  EXPECT_EQ(outcomes->back().counts.reads, 301);
  EXPECT_THAT(*outcomes, Each(Field(&RecordOutcome::duplicate, false)));
  EXPECT_EQ(Redis({"GET", "newsroom:reads:a"}), "301");
}

TEST_F(RedisReadCounterTest, AWronglyTypedKeyFailsOnlyTheCallsReadingThatArticle) {
  auto counter = MakeCounter(/*pool_size=*/1);
  Redis({"HSET", "newsroom:reads:bad", "field", "value"});

  // In one call: the call fails, but the good article's read was counted.
  const auto mixed = RecordNow(*counter, {MakeRead("bad", "1"), MakeRead("good", "1")});
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(Redis({"GET", "newsroom:reads:good"}), "1");

  // The script's own reply carries the error for the bad article's read only.
  RedisConnection connection(ConnectionOptions());
  ASSERT_TRUE(RedisReadCounter::LoadScripts(connection).ok());
  const std::vector<RedisCommand> commands =
      counter->RecordCommands({MakeRead("bad", "2"), MakeRead("good", "2")},
                              {.slot = DedupSlotAt(absl::Now(), kDefaultDedupWindow)});
  ASSERT_EQ(commands.size(), 1u);
  absl::StatusOr<RedisReply> reply = connection.Run(commands[0]);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ((*reply)->type, REDIS_REPLY_ARRAY);
  ASSERT_EQ((*reply)->elements, 2u);
  EXPECT_TRUE(IsErrorReply(*(*reply)->element[0], "WRONGTYPE"));
  ASSERT_EQ((*reply)->element[1]->type, REDIS_REPLY_ARRAY);
  EXPECT_EQ((*reply)->element[1]->element[0]->integer, 2);

  // Calls of different callers that share one script call: only the bad article's caller fails.
  // Redis holds writes for a moment, so while the first call waits the other two queue up and the
  // worker sends them together.
  Redis({"CONFIG", "RESETSTAT"});
  Redis({"CLIENT", "PAUSE", "300", "WRITE"});
  std::thread first([&] { EXPECT_TRUE(RecordNow(*counter, {MakeRead("good", "3")}).ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  absl::StatusOr<std::vector<RecordOutcome>> bad;
  absl::StatusOr<std::vector<RecordOutcome>> good;
  absl::Notification bad_done;
  absl::Notification good_done;
  counter->Record({MakeRead("bad", "4")}, [&](auto outcomes) {
    bad = std::move(outcomes);
    bad_done.Notify();
  });
  counter->Record({MakeRead("good", "4")}, [&](auto outcomes) {
    good = std::move(outcomes);
    good_done.Notify();
  });
  first.join();
  bad_done.WaitForNotification();
  good_done.WaitForNotification();
  EXPECT_EQ(Calls("evalsha"), 2);  // the first call's, then one for both queued calls
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->front().counts.reads, 4);
  EXPECT_EQ(Redis({"GET", "newsroom:reads:good"}), "4");
}

// The error-reply metric tells a full Redis (oom) from one article's key of the wrong type inside
// a script call that counted the others (wrongtype): one per reply, of the read or of the call.
TEST_F(RedisReadCounterTest, CountsErrorRepliesByKind) {
  RedisReadCounter counter(ErrorCountingOptions());
  Redis({"HSET", "newsroom:reads:bad", "field", "value"});
  EXPECT_FALSE(RecordNow(counter, {MakeRead("bad", "1"), MakeRead("good", "1")}).ok());
  EXPECT_EQ(ErrorReplies("wrongtype"), 1u);

  Redis({"CONFIG", "SET", "maxmemory", "1"});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(RecordNow(counter, {MakeRead("good", absl::StrCat("full-", i))}).status().code(),
              absl::StatusCode::kUnavailable);
  }
  Redis({"CONFIG", "SET", "maxmemory", "0"});
  EXPECT_EQ(ErrorReplies("oom"), 3u);
  EXPECT_EQ(ErrorReplies("wrongtype"), 1u);
  EXPECT_EQ(AllErrorReplies(), 4u);
}

TEST_F(RedisReadCounterTest, ConcurrentCallersSharingReadIdsCountEachReadOnce) {
  auto counter = MakeCounter();
  constexpr int kCallers = 8;
  constexpr int kCalls = 40;
  constexpr int kReadsPerCall = 10;
  std::atomic<int> new_reads = 0;
  std::atomic<int> failures = 0;
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int call = 0; call < kCalls; ++call) {
        std::vector<Read> reads;
        for (int i = 0; i < kReadsPerCall; ++i) {
          // Two callers use each read id, so half of all reads are duplicates of another's.
          reads.push_back(MakeRead(absl::StrCat("art", i % 3),
                                   absl::StrCat(c / 2, "-", call, "-", i), absl::StrCat(c)));
        }
        const auto outcomes = RecordNow(*counter, std::move(reads));
        if (!outcomes.ok()) {
          ++failures;
          continue;
        }
        for (const RecordOutcome& outcome : *outcomes) new_reads += outcome.duplicate ? 0 : 1;
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(new_reads, kCallers * kCalls * kReadsPerCall / 2);
  int64_t total = 0;
  for (int a = 0; a < 3; ++a)
    total += std::stoll(Redis({"GET", absl::StrCat("newsroom:reads:art", a)}));
  EXPECT_EQ(total, new_reads);
}

}  // namespace
}  // namespace newsroom::analytics
