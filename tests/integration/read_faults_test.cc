// Reads under faults: a retrying client drives ReadArticle through the pair while analytics-service
// is killed, Redis is killed (append-only, fsync always) and content-service is stopped with
// SIGTERM, each then restarted. From the log of every call's outcome and the dedup markers in Redis
// it checks that no acknowledged read was lost and none was counted twice, and reports how long
// each fault took to heal.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/integration/pair_fixture.h"
#include "tests/support/dedup_markers.h"
#include "tests/support/redis_client.h"

namespace newsroom::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kArticleId[] = "fault-drill";
constexpr int kLoadThreads = 4;
// A call is retried (same read_id) until this much time has passed, then given up.
constexpr milliseconds kRetryBudget(20000);
constexpr milliseconds kAttemptTimeout(2000);
// How long each component stays down.
constexpr milliseconds kOutage(1000);
// analytics-service's default --dedup-window, which the pair runs with.
constexpr std::int64_t kDedupWindowSeconds = 172800;

enum class Outcome { kAcknowledged, kIndeterminate };

struct CallRecord {
  std::string read_id;
  Outcome outcome;
  int attempts;
};

// The log of every call's outcome, shared by the load threads.
class CallLog {
 public:
  void Add(CallRecord record) {
    std::lock_guard<std::mutex> lock(mutex_);
    records_.push_back(std::move(record));
  }
  std::vector<CallRecord> records() {
    std::lock_guard<std::mutex> lock(mutex_);
    return records_;
  }

 private:
  std::mutex mutex_;
  std::vector<CallRecord> records_;
};

// One ReadArticle, retried with the same read_id on any error until it succeeds or the budget
// runs out. A success is acknowledged: the read is counted or saved in content's outbox. A call
// given up after any error is indeterminate: it may or may not have been counted.
CallRecord ReadWithRetries(NewsroomPair& pair, const std::string& name, const std::string& read_id,
                           bool* got_stats) {
  const auto give_up = Clock::now() + kRetryBudget;
  content_v1::ReadArticleRequest request;
  request.set_name(name);
  request.set_reader_id("reader-" + read_id.substr(0, 2));
  request.set_read_id(read_id);
  int attempts = 0;
  while (true) {
    ++attempts;
    content_v1::Article article;
    const grpc::Status status =
        pair.content().ReadArticle(Context(kAttemptTimeout).get(), request, &article);
    if (status.ok()) {
      if (got_stats != nullptr) *got_stats = article.has_read_stats();
      return {read_id, Outcome::kAcknowledged, attempts};
    }
    if (Clock::now() > give_up) return {read_id, Outcome::kIndeterminate, attempts};
    std::this_thread::sleep_for(milliseconds(20));
  }
}

std::int64_t CountedReads(NewsroomPair& pair, const std::string& name) {
  analytics_v1::GetReadStatsRequest request;
  request.set_article(name);
  analytics_v1::ReadStats stats;
  if (!pair.analytics().GetReadStats(Context().get(), request, &stats).ok()) return -1;
  return stats.reads();
}

TEST(ReadFaultsTest, NoAcknowledgedReadIsLostOrCountedTwiceAcrossRestarts) {
  NewsroomPair pair;
  content_v1::CreateArticleRequest create;
  create.set_article_id(kArticleId);
  *create.mutable_article() = SampleArticle("Fault drill");
  content_v1::Article created;
  ASSERT_TRUE(pair.content().CreateArticle(Context().get(), create, &created).ok());
  const std::string name = created.name();

  CallLog log;
  std::atomic<bool> stop{false};
  std::vector<std::thread> load;
  for (int t = 0; t < kLoadThreads; ++t) {
    load.emplace_back([&, t] {
      for (int n = 0; !stop.load(); ++n) {
        log.Add(ReadWithRetries(pair, name, "t" + std::to_string(t) + "-" + std::to_string(n),
                                nullptr));
      }
    });
  }

  // Injects a fault, keeps the component down for kOutage, restores it, then probes until a read
  // comes back counted through the whole pair again. Returns the seconds from fault to healed.
  int probes = 0;
  const auto drill = [&](const char* fault, auto inject, auto restore) {
    std::this_thread::sleep_for(milliseconds(500));
    const auto started = Clock::now();
    inject();
    std::this_thread::sleep_for(kOutage);
    restore();
    bool healed = false;
    while (!healed && Clock::now() - started < kRetryBudget) {
      const CallRecord probe =
          ReadWithRetries(pair, name, "probe-" + std::to_string(probes++), &healed);
      log.Add(probe);
      if (!healed) std::this_thread::sleep_for(milliseconds(20));
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    EXPECT_TRUE(healed) << fault << " did not heal";
    std::printf("fault drill: %-32s down %.1f s, healed %.2f s after the fault\n", fault,
                std::chrono::duration<double>(kOutage).count(), seconds);
    return seconds;
  };

  drill(
      "analytics-service SIGKILL", [&] { pair.SignalAnalytics(SIGKILL); },
      [&] { pair.StartAnalytics(); });
  drill(
      "redis-server SIGKILL (AOF)", [&] { pair.redis().Kill(); }, [&] { pair.redis().Start(); });
  drill(
      "content-service SIGTERM", [&] { EXPECT_EQ(pair.StopContent(), 0); },
      [&] { pair.StartContent(); });
  std::this_thread::sleep_for(milliseconds(500));
  stop = true;
  for (std::thread& thread : load) thread.join();

  const std::vector<CallRecord> records = log.records();
  std::set<std::string> acknowledged;
  std::size_t indeterminate = 0;
  std::size_t retried = 0;
  for (const CallRecord& record : records) {
    if (record.outcome == Outcome::kAcknowledged) acknowledged.insert(record.read_id);
    if (record.outcome == Outcome::kIndeterminate) ++indeterminate;
    if (record.attempts > 1) ++retried;
  }
  ASSERT_EQ(acknowledged.size() + indeterminate, records.size()) << "read_ids must be unique";

  // Reads saved in content's outbox during the faults are delivered in the background.
  const auto count_settles = [&] {
    const std::int64_t before = CountedReads(pair, name);
    std::this_thread::sleep_for(milliseconds(300));
    return before >= static_cast<std::int64_t>(acknowledged.size()) &&
           CountedReads(pair, name) == before;
  };
  EXPECT_TRUE(Eventually(count_settles, std::chrono::seconds(30)));
  const std::int64_t final_count = CountedReads(pair, name);

  // Every read counted leaves its dedup marker: a field of one of the hashes
  // `test:dedup:{W}:{slot}:{shard}` of the slot current when it was counted, this slot's or, should
  // the drill straddle a slot's end, the one before.
  RedisClient redis(pair.redis().port());
  const RedisCommandText text = [&redis](const std::vector<std::string>& argv) {
    return redis.String(argv);
  };
  const absl::Time now = absl::Now();
  const auto marked = [&](const std::string& read_id) {
    return FindDedupMarker(text, "test:", kDedupWindowSeconds, now, kArticleId, read_id)
        .has_value();
  };
  std::size_t lost = 0;
  for (const std::string& read_id : acknowledged) lost += marked(read_id) ? 0 : 1;
  // The drill's article is the only one: every marker in Redis is one of its reads.
  std::int64_t markers = 0;
  for (const std::string& key : redis.KeysMatching("test:dedup:*")) {
    if (redis.String({"TYPE", key}) == "hash") markers += std::stoll(redis.String({"HLEN", key}));
  }
  const std::int64_t duplicated = final_count - markers;

  std::printf(
      "fault drill: %zu calls (%zu retried), %zu acknowledged, %zu indeterminate; final count "
      "%lld; lost %zu, duplicated %lld\n",
      records.size(), retried, acknowledged.size(), indeterminate,
      static_cast<long long>(final_count), lost, static_cast<long long>(duplicated));
  EXPECT_GE(final_count, static_cast<std::int64_t>(acknowledged.size()));
  EXPECT_LE(final_count, static_cast<std::int64_t>(acknowledged.size() + indeterminate));
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(duplicated, 0);
  // With a client that retries, no call fails outright across any of the restarts.
  EXPECT_EQ(indeterminate, 0u);
  EXPECT_GT(retried, 0u) << "the faults must have been felt";
}

TEST(ReadFaultsTest, ReadsSavedWhileAnalyticsIsDownSurviveAContentServiceCrash) {
  NewsroomPair pair;
  content_v1::CreateArticleRequest create;
  create.set_article_id(kArticleId);
  *create.mutable_article() = SampleArticle("Outbox drill");
  content_v1::Article created;
  ASSERT_TRUE(pair.content().CreateArticle(Context().get(), create, &created).ok());

  pair.StopAnalytics();
  constexpr int kReads = 50;
  for (int i = 0; i < kReads; ++i) {
    bool got_stats = true;
    const CallRecord record =
        ReadWithRetries(pair, created.name(), "outbox-" + std::to_string(i), &got_stats);
    ASSERT_EQ(record.outcome, Outcome::kAcknowledged);
    EXPECT_FALSE(got_stats) << "analytics is down: the read can only have been saved";
  }
  // A crash, not a clean stop: nothing gets a chance to flush.
  pair.SignalContent(SIGKILL);
  pair.StartAnalytics();
  pair.StartContent();
  EXPECT_TRUE(Eventually([&] { return CountedReads(pair, created.name()) == kReads; },
                         std::chrono::seconds(20)))
      << "counted " << CountedReads(pair, created.name()) << " of " << kReads;
}

}  // namespace
}  // namespace newsroom::testing
