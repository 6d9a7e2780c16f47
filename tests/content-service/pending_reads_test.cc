#include "content-service/src/pending_reads.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/synchronization/mutex.h"
#include "content-service/src/sqlite_read_outbox.h"
#include "tests/content-service/unused_analytics.h"
#include "tests/support/process.h"

namespace newsroom::content {
namespace {

// Pure-logic stand-in for analytics-service: accepts or refuses batches on command and records
// which read_ids it accepted.
class ScriptedAnalytics final : public UnusedAnalytics {
 public:
  absl::Status BatchRecordReads(const std::vector<analytics_v1::RecordReadRequest>& reads,
                                absl::Time, const TraceContext&) override {
    absl::MutexLock lock(&mutex_);
    ++calls_;
    if (!reply_.ok()) return reply_;
    for (const auto& read : reads) {
      if (read.read_id() == refused_read_id_) {
        return absl::InvalidArgumentError("requests[0].read_time: in the future");
      }
    }
    for (const auto& read : reads) accepted_.insert(read.read_id());
    return absl::OkStatus();
  }

  void SetReply(absl::Status reply) {
    absl::MutexLock lock(&mutex_);
    reply_ = std::move(reply);
  }
  void RefuseReadId(std::string read_id) {
    absl::MutexLock lock(&mutex_);
    refused_read_id_ = std::move(read_id);
  }
  std::set<std::string> accepted() {
    absl::MutexLock lock(&mutex_);
    return accepted_;
  }
  int calls() {
    absl::MutexLock lock(&mutex_);
    return calls_;
  }

 private:
  absl::Mutex mutex_;
  absl::Status reply_ ABSL_GUARDED_BY(mutex_) = absl::OkStatus();
  std::set<std::string> accepted_ ABSL_GUARDED_BY(mutex_);
  int calls_ ABSL_GUARDED_BY(mutex_) = 0;
  std::string refused_read_id_ ABSL_GUARDED_BY(mutex_);
};

analytics_v1::RecordReadRequest Read(int i) {
  analytics_v1::RecordReadRequest read;
  read.set_article("articles/a");
  read.set_read_id("r" + std::to_string(i));
  return read;
}

std::unique_ptr<SqliteReadOutbox> OpenOutbox(const std::string& path = ":memory:") {
  auto outbox = SqliteReadOutbox::Open(path);
  EXPECT_TRUE(outbox.ok()) << outbox.status();
  return outbox.ok() ? *std::move(outbox) : nullptr;
}

PendingReadsOptions FastOptions(std::size_t max_pending) {
  return {.max_pending = max_pending,
          .batch_size = 7,
          .call_timeout = absl::Seconds(1),
          .min_backoff = absl::Milliseconds(1),
          .max_backoff = absl::Milliseconds(5)};
}

// Waits (bounded) until `done` holds; the queue delivers on its own thread.
template <typename F>
bool Eventually(F done) {
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

TEST(PendingReadsTest, DeliversEveryQueuedReadOnceAnalyticsAccepts) {
  ScriptedAnalytics analytics;
  analytics.SetReply(absl::UnavailableError("down"));
  auto outbox = OpenOutbox();
  PendingReads pending(&analytics, outbox.get(), FastOptions(1000));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(pending.Enqueue(Read(i)));
  ASSERT_TRUE(Eventually([&] { return analytics.calls() >= 3; }));  // retried while down
  EXPECT_TRUE(analytics.accepted().empty());

  analytics.SetReply(absl::OkStatus());
  ASSERT_TRUE(Eventually([&] { return pending.counters().pending == 0; }));
  EXPECT_EQ(analytics.accepted().size(), 50u);
  EXPECT_EQ(pending.counters().delivered, 50u);
}

TEST(PendingReadsTest, DropsAndCountsWhatOverflowsTheBound) {
  ScriptedAnalytics analytics;
  analytics.SetReply(absl::UnavailableError("down"));
  auto outbox = OpenOutbox();
  PendingReads pending(&analytics, outbox.get(), FastOptions(10));
  int accepted = 0;
  for (int i = 0; i < 25; ++i) accepted += pending.Enqueue(Read(i)) ? 1 : 0;
  EXPECT_EQ(accepted, 10);
  EXPECT_EQ(pending.counters().dropped_full, 15u);
  EXPECT_EQ(pending.counters().pending, 10u);
  EXPECT_EQ(pending.counters().enqueued, 10u);
}

TEST(PendingReadsTest, OldestAgeIsTheWaitOfTheOldestQueuedRead) {
  ScriptedAnalytics analytics;
  analytics.SetReply(absl::UnavailableError("down"));
  auto outbox = OpenOutbox();
  PendingReads pending(&analytics, outbox.get(), FastOptions(10));
  EXPECT_EQ(pending.OldestAge(), absl::ZeroDuration());
  ASSERT_TRUE(pending.Enqueue(Read(1)));
  absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(pending.Enqueue(Read(2)));
  EXPECT_GE(pending.OldestAge(), absl::Milliseconds(50));

  analytics.SetReply(absl::OkStatus());
  ASSERT_TRUE(Eventually([&] { return pending.counters().pending == 0; }));
  EXPECT_EQ(pending.OldestAge(), absl::ZeroDuration());
}

TEST(PendingReadsTest, ShutdownFlushesWhatAnalyticsAccepts) {
  ScriptedAnalytics analytics;
  analytics.SetReply(absl::UnavailableError("down"));
  auto outbox = OpenOutbox();
  PendingReads pending(&analytics, outbox.get(), FastOptions(1000));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(pending.Enqueue(Read(i)));
  analytics.SetReply(absl::OkStatus());
  EXPECT_EQ(pending.Shutdown(absl::Now() + absl::Seconds(5)), 0u);
  EXPECT_EQ(analytics.accepted().size(), 20u);
}

TEST(PendingReadsTest, ShutdownReportsWhatCouldNotBeDelivered) {
  ScriptedAnalytics analytics;
  analytics.SetReply(absl::UnavailableError("down"));
  auto outbox = OpenOutbox();
  PendingReads pending(&analytics, outbox.get(), FastOptions(1000));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(pending.Enqueue(Read(i)));
  EXPECT_EQ(pending.Shutdown(absl::Now() + absl::Milliseconds(50)), 20u);
}

TEST(PendingReadsTest, ARejectedBatchIsDroppedNotRetriedForever) {
  ScriptedAnalytics analytics;
  analytics.SetReply(absl::InvalidArgumentError("requests[0].article: bad"));
  auto outbox = OpenOutbox();
  PendingReads pending(&analytics, outbox.get(), FastOptions(1000));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(pending.Enqueue(Read(i)));
  ASSERT_TRUE(Eventually([&] { return pending.counters().pending == 0; }));
  EXPECT_EQ(pending.counters().dropped_rejected, 3u);
}

TEST(PendingReadsTest, OneRefusedReadDoesNotTakeItsBatchDown) {
  ScriptedAnalytics analytics;
  analytics.RefuseReadId("r3");
  auto outbox = OpenOutbox();
  PendingReads pending(&analytics, outbox.get(), FastOptions(1000));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(pending.Enqueue(Read(i)));  // batches of 7
  ASSERT_TRUE(Eventually([&] { return pending.counters().pending == 0; }));
  EXPECT_EQ(pending.counters().dropped_rejected, 1u);
  EXPECT_EQ(pending.counters().delivered, 9u);
  EXPECT_EQ(analytics.accepted().size(), 9u);
  EXPECT_EQ(analytics.accepted().count("r3"), 0u);
}

TEST(PendingReadsTest, ReadsSurviveARestartAndTheNextProcessDeliversThem) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/content.db";
  ScriptedAnalytics analytics;
  analytics.SetReply(absl::UnavailableError("down"));
  {
    auto outbox = OpenOutbox(path);
    PendingReads pending(&analytics, outbox.get(), FastOptions(1000));
    for (int i = 0; i < 30; ++i) ASSERT_TRUE(pending.Enqueue(Read(i)));
    EXPECT_EQ(pending.Shutdown(absl::Now() + absl::Milliseconds(20)), 30u);
  }
  EXPECT_TRUE(analytics.accepted().empty());

  analytics.SetReply(absl::OkStatus());
  auto outbox = OpenOutbox(path);
  PendingReads pending(&analytics, outbox.get(), FastOptions(1000));
  ASSERT_TRUE(Eventually([&] { return pending.counters().pending == 0; }));
  EXPECT_EQ(analytics.accepted().size(), 30u);
  EXPECT_EQ(*outbox->Count(), 0);
}

TEST(PendingReadsTest, TheBoundCountsReadsLeftByAPreviousProcess) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/content.db";
  ScriptedAnalytics analytics;
  analytics.SetReply(absl::UnavailableError("down"));
  {
    auto outbox = OpenOutbox(path);
    PendingReads pending(&analytics, outbox.get(), FastOptions(10));
    for (int i = 0; i < 8; ++i) ASSERT_TRUE(pending.Enqueue(Read(i)));
  }
  auto outbox = OpenOutbox(path);
  PendingReads pending(&analytics, outbox.get(), FastOptions(10));
  EXPECT_EQ(pending.counters().pending, 8u);
  EXPECT_TRUE(pending.Enqueue(Read(100)));
  EXPECT_TRUE(pending.Enqueue(Read(101)));
  EXPECT_FALSE(pending.Enqueue(Read(102)));
  EXPECT_EQ(pending.counters().dropped_full, 1u);
}

TEST(PendingReadsTest, ReadsOlderThanMaxAgeAreDroppedAndCounted) {
  ScriptedAnalytics analytics;
  analytics.SetReply(absl::UnavailableError("down"));
  auto outbox = OpenOutbox();
  // Saved two days ago, as if by a process that stopped then.
  std::vector<analytics_v1::RecordReadRequest> old_reads = {Read(1), Read(2), Read(3)};
  ASSERT_TRUE(outbox->Append(old_reads, absl::Now() - absl::Hours(48)).ok());
  PendingReadsOptions options = FastOptions(1000);
  options.max_age = absl::Hours(24);
  PendingReads pending(&analytics, outbox.get(), options);
  ASSERT_TRUE(pending.Enqueue(Read(4)));
  ASSERT_TRUE(Eventually([&] { return pending.counters().dropped_expired == 3; }));
  analytics.SetReply(absl::OkStatus());
  ASSERT_TRUE(Eventually([&] { return pending.counters().pending == 0; }));
  EXPECT_EQ(analytics.accepted(), std::set<std::string>{"r4"});
}

TEST(SqliteReadOutboxTest, KeepsReadsByteExactOldestFirst) {
  auto outbox = OpenOutbox();
  analytics_v1::RecordReadRequest first = Read(1);
  first.set_reader_id("reader-\xc3\xa9");
  first.mutable_read_time()->set_seconds(1700000000);
  first.mutable_read_time()->set_nanos(123);
  const absl::Time at = absl::FromUnixMicros(1700000000123456);
  ASSERT_TRUE(outbox->Append({first, Read(2)}, at).ok());
  ASSERT_TRUE(outbox->Append({Read(3)}, at + absl::Seconds(1)).ok());
  auto entries = outbox->Oldest(2);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].read.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ((*entries)[0].queued_at, at);
  EXPECT_EQ((*entries)[1].read.read_id(), "r2");
  EXPECT_LT((*entries)[0].id, (*entries)[1].id);

  ASSERT_TRUE(outbox->Remove({(*entries)[0].id}).ok());
  EXPECT_EQ(*outbox->Count(), 2);
  EXPECT_EQ(*outbox->RemoveQueuedBefore(at + absl::Milliseconds(500)), 1);
  entries = outbox->Oldest(10);
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].read.read_id(), "r3");
}

}  // namespace
}  // namespace newsroom::content
