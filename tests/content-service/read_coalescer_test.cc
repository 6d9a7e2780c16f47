#include "content-service/src/read_coalescer.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/content-service/unused_analytics.h"

namespace newsroom::content {
namespace {

// Pure-logic stand-in for analytics-service that holds every call until the test answers it, so
// the test decides what is in flight.
class HeldAnalytics final : public UnusedAnalytics {
 public:
  struct Call {
    std::vector<analytics_v1::RecordReadRequest> reads;
    absl::Time deadline;
    TraceContext trace;
    bool batch = false;  // RecordReads rather than RecordRead
    Callback<analytics_v1::ReadStats> single_done;
    Callback<std::vector<analytics_v1::ReadStats>> batch_done;
  };

  void RecordRead(const analytics_v1::RecordReadRequest& read, absl::Time deadline,
                  const TraceContext& trace, Callback<analytics_v1::ReadStats> done) override {
    calls.push_back({{read}, deadline, trace, false, std::move(done), nullptr});
  }
  void RecordReads(std::vector<analytics_v1::RecordReadRequest> reads, absl::Time deadline,
                   const TraceContext& trace,
                   Callback<std::vector<analytics_v1::ReadStats>> done) override {
    calls.push_back({std::move(reads), deadline, trace, true, nullptr, std::move(done)});
  }

  // Answers call `index` with stats whose `reads` is 100 + the read's position in the call.
  void Succeed(std::size_t index) {
    Call call = std::move(calls[index]);
    std::vector<analytics_v1::ReadStats> stats;
    for (std::size_t i = 0; i < call.reads.size(); ++i) {
      stats.emplace_back().set_article(call.reads[i].article());
      stats.back().set_reads(100 + static_cast<int64_t>(i));
    }
    if (call.batch) return std::move(call.batch_done)(std::move(stats));
    std::move(call.single_done)(std::move(stats.front()));
  }
  void Fail(std::size_t index, absl::Status status) {
    Call call = std::move(calls[index]);
    if (call.batch) return std::move(call.batch_done)(status);
    std::move(call.single_done)(status);
  }

  std::vector<Call> calls;
};

analytics_v1::RecordReadRequest Read(const std::string& read_id) {
  analytics_v1::RecordReadRequest read;
  read.set_article("articles/a");
  read.set_read_id(read_id);
  return read;
}

struct Outcome {
  std::optional<absl::StatusOr<analytics_v1::ReadStats>> result;
};

AnalyticsClient::Callback<analytics_v1::ReadStats> Into(Outcome& outcome) {
  return [&outcome](absl::StatusOr<analytics_v1::ReadStats> stats) {
    outcome.result = std::move(stats);
  };
}

const absl::Time kFarDeadline = absl::Now() + absl::Hours(1);
const TraceContext kTrace = NewTrace(0);

TEST(ReadCoalescerTest, ReadOnAnIdleLineIsSentAloneAtOnce) {
  HeldAnalytics analytics;
  ReadCoalescer coalescer(&analytics, {.max_calls_in_flight = 1});
  Outcome outcome;
  coalescer.Record(Read("r1"), kFarDeadline, kTrace, Into(outcome));
  ASSERT_EQ(analytics.calls.size(), 1u);
  EXPECT_FALSE(analytics.calls[0].batch);
  EXPECT_EQ(analytics.calls[0].deadline, kFarDeadline);
  analytics.Succeed(0);
  ASSERT_TRUE(outcome.result.has_value());
  ASSERT_TRUE(outcome.result->ok());
  EXPECT_EQ((*outcome.result)->reads(), 100);
}

TEST(ReadCoalescerTest, ReadsArrivingWhileTheLineIsBusyLeaveTogetherInOrder) {
  HeldAnalytics analytics;
  ReadCoalescer coalescer(&analytics, {.max_calls_in_flight = 1});
  Outcome first, second, third;
  coalescer.Record(Read("r1"), kFarDeadline, kTrace, Into(first));
  const absl::Time earlier = kFarDeadline - absl::Minutes(1);
  coalescer.Record(Read("r2"), kFarDeadline, kTrace, Into(second));
  coalescer.Record(Read("r3"), earlier, kTrace, Into(third));
  ASSERT_EQ(analytics.calls.size(), 1u) << "the waiting reads must not be sent yet";

  analytics.Succeed(0);
  ASSERT_EQ(analytics.calls.size(), 2u);
  const HeldAnalytics::Call& batch = analytics.calls[1];
  EXPECT_TRUE(batch.batch);
  ASSERT_EQ(batch.reads.size(), 2u);
  EXPECT_EQ(batch.reads[0].read_id(), "r2");
  EXPECT_EQ(batch.reads[1].read_id(), "r3");
  EXPECT_EQ(batch.deadline, earlier) << "a batch must end by its earliest read's deadline";
  EXPECT_FALSE(second.result.has_value());

  analytics.Succeed(1);
  ASSERT_TRUE(second.result.has_value() && second.result->ok());
  ASSERT_TRUE(third.result.has_value() && third.result->ok());
  EXPECT_EQ((*second.result)->reads(), 100);
  EXPECT_EQ((*third.result)->reads(), 101);
}

TEST(ReadCoalescerTest, SeveralCallsMayBeInFlight) {
  HeldAnalytics analytics;
  ReadCoalescer coalescer(&analytics, {.max_calls_in_flight = 2});
  Outcome a, b, c;
  coalescer.Record(Read("r1"), kFarDeadline, kTrace, Into(a));
  coalescer.Record(Read("r2"), kFarDeadline, kTrace, Into(b));
  coalescer.Record(Read("r3"), kFarDeadline, kTrace, Into(c));
  EXPECT_EQ(analytics.calls.size(), 2u);
  analytics.Succeed(1);
  ASSERT_EQ(analytics.calls.size(), 3u);
  EXPECT_EQ(analytics.calls[2].reads.front().read_id(), "r3");
}

TEST(ReadCoalescerTest, BatchesAreCappedAndTheRestWaitsForTheNextCall) {
  HeldAnalytics analytics;
  ReadCoalescer coalescer(&analytics, {.max_calls_in_flight = 1, .max_batch_size = 2});
  std::vector<Outcome> outcomes(5);
  for (int i = 0; i < 5; ++i) {
    coalescer.Record(Read("r" + std::to_string(i)), kFarDeadline, kTrace, Into(outcomes[i]));
  }
  analytics.Succeed(0);
  ASSERT_EQ(analytics.calls.size(), 2u);
  EXPECT_EQ(analytics.calls[1].reads.size(), 2u);
  analytics.Succeed(1);
  ASSERT_EQ(analytics.calls.size(), 3u);
  EXPECT_EQ(analytics.calls[2].reads.size(), 2u);
  analytics.Succeed(2);
  for (const Outcome& outcome : outcomes) {
    ASSERT_TRUE(outcome.result.has_value());
    EXPECT_TRUE(outcome.result->ok());
  }
  EXPECT_EQ(analytics.calls.size(), 3u) << "an idle line must send nothing more";
}

TEST(ReadCoalescerTest, AFailedBatchFailsEachOfItsReads) {
  HeldAnalytics analytics;
  ReadCoalescer coalescer(&analytics, {.max_calls_in_flight = 1});
  Outcome first, second, third;
  coalescer.Record(Read("r1"), kFarDeadline, kTrace, Into(first));
  coalescer.Record(Read("r2"), kFarDeadline, kTrace, Into(second));
  coalescer.Record(Read("r3"), kFarDeadline, kTrace, Into(third));
  analytics.Succeed(0);
  analytics.Fail(1, absl::UnavailableError("analytics is down"));
  ASSERT_TRUE(second.result.has_value() && third.result.has_value());
  EXPECT_EQ(second.result->status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(third.result->status().code(), absl::StatusCode::kUnavailable);
}

TEST(ReadCoalescerTest, ARefusedBatchIsRetriedReadByReadSoOnlyTheBadReadFails) {
  HeldAnalytics analytics;
  ReadCoalescer coalescer(&analytics, {.max_calls_in_flight = 1});
  Outcome first, good, bad;
  coalescer.Record(Read("r1"), kFarDeadline, kTrace, Into(first));
  coalescer.Record(Read("good"), kFarDeadline, kTrace, Into(good));
  coalescer.Record(Read("bad"), kFarDeadline, kTrace, Into(bad));
  analytics.Succeed(0);
  analytics.Fail(1, absl::InvalidArgumentError("read_time: too far in the future"));
  ASSERT_EQ(analytics.calls.size(), 4u);
  EXPECT_FALSE(analytics.calls[2].batch);
  EXPECT_EQ(analytics.calls[2].reads.front().read_id(), "good");
  EXPECT_EQ(analytics.calls[3].reads.front().read_id(), "bad");
  analytics.Succeed(2);
  analytics.Fail(3, absl::InvalidArgumentError("read_time: too far in the future"));
  ASSERT_TRUE(good.result.has_value() && bad.result.has_value());
  EXPECT_TRUE(good.result->ok());
  EXPECT_EQ(bad.result->status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReadCoalescerTest, AReadThatWaitedPastItsDeadlineIsAnsweredWithoutBeingSent) {
  HeldAnalytics analytics;
  ReadCoalescer coalescer(&analytics, {.max_calls_in_flight = 1});
  Outcome first, expired, live;
  coalescer.Record(Read("r1"), kFarDeadline, kTrace, Into(first));
  coalescer.Record(Read("expired"), absl::Now() - absl::Seconds(1), kTrace, Into(expired));
  coalescer.Record(Read("live"), kFarDeadline, kTrace, Into(live));
  analytics.Succeed(0);
  ASSERT_TRUE(expired.result.has_value());
  EXPECT_EQ(expired.result->status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_EQ(analytics.calls.size(), 2u);
  ASSERT_EQ(analytics.calls[1].reads.size(), 1u);
  EXPECT_EQ(analytics.calls[1].reads.front().read_id(), "live");
  EXPECT_EQ(analytics.calls[1].deadline, kFarDeadline);
}

TEST(ReadCoalescerTest, WhenEveryWaitingReadExpiredTheLineIsFreed) {
  HeldAnalytics analytics;
  ReadCoalescer coalescer(&analytics, {.max_calls_in_flight = 1});
  Outcome first, expired, later;
  coalescer.Record(Read("r1"), kFarDeadline, kTrace, Into(first));
  coalescer.Record(Read("expired"), absl::Now() - absl::Seconds(1), kTrace, Into(expired));
  analytics.Succeed(0);
  EXPECT_EQ(analytics.calls.size(), 1u);
  coalescer.Record(Read("later"), kFarDeadline, kTrace, Into(later));
  ASSERT_EQ(analytics.calls.size(), 2u) << "a freed line must send the next read at once";
}

TEST(ReadCoalescerTest, ReadSentAloneCarriesItsCallsTrace) {
  HeldAnalytics analytics;
  ReadCoalescer coalescer(&analytics, {.max_calls_in_flight = 1});
  const TraceContext trace = NewTrace(1.0);
  Outcome outcome;
  coalescer.Record(Read("r1"), kFarDeadline, trace, Into(outcome));
  ASSERT_EQ(analytics.calls.size(), 1u);
  EXPECT_EQ(analytics.calls[0].trace.trace_id, trace.trace_id);
  EXPECT_EQ(analytics.calls[0].trace.span_id, trace.span_id);
  EXPECT_TRUE(analytics.calls[0].trace.sampled());
}

TEST(ReadCoalescerTest, BatchGetsItsOwnSpanInTheFirstSampledReadsTrace) {
  HeldAnalytics analytics;
  ReadCoalescer coalescer(&analytics, {.max_calls_in_flight = 1});
  Outcome first, unsampled, sampled, other;
  coalescer.Record(Read("r1"), kFarDeadline, NewTrace(0), Into(first));
  const TraceContext sampled_trace = NewTrace(1.0);
  coalescer.Record(Read("r2"), kFarDeadline, NewTrace(0), Into(unsampled));
  coalescer.Record(Read("r3"), kFarDeadline, sampled_trace, Into(sampled));
  coalescer.Record(Read("r4"), kFarDeadline, NewTrace(1.0), Into(other));
  analytics.Succeed(0);
  ASSERT_EQ(analytics.calls.size(), 2u);
  const HeldAnalytics::Call& batch = analytics.calls[1];
  ASSERT_TRUE(batch.batch);
  EXPECT_EQ(batch.trace.trace_id, sampled_trace.trace_id);
  EXPECT_NE(batch.trace.span_id, sampled_trace.span_id);
  EXPECT_TRUE(batch.trace.sampled());
}

TEST(ReadCoalescerTest, BatchOfUnsampledReadsStaysUnsampled) {
  HeldAnalytics analytics;
  ReadCoalescer coalescer(&analytics, {.max_calls_in_flight = 1});
  Outcome first, second, third;
  const TraceContext second_trace = NewTrace(0);
  coalescer.Record(Read("r1"), kFarDeadline, NewTrace(0), Into(first));
  coalescer.Record(Read("r2"), kFarDeadline, second_trace, Into(second));
  coalescer.Record(Read("r3"), kFarDeadline, NewTrace(0), Into(third));
  analytics.Succeed(0);
  ASSERT_EQ(analytics.calls.size(), 2u);
  EXPECT_EQ(analytics.calls[1].trace.trace_id, second_trace.trace_id);
  EXPECT_FALSE(analytics.calls[1].trace.sampled());
}

}  // namespace
}  // namespace newsroom::content
