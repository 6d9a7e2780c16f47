#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content-service/src/analytics_client.h"

namespace newsroom::content {

struct ReadCoalescerOptions {
  // Calls to analytics-service carrying reads at once. A read that finds fewer in flight is sent at
  // once, alone; otherwise it waits for the next call to finish and leaves with every read that
  // waited meanwhile.
  int max_calls_in_flight = 2;
  // Reads in one call; analytics-service accepts up to 500.
  std::size_t max_batch_size = 500;
};

// Group commit for page views: concurrent reads share BatchRecordReads calls, so that under load
// analytics-service serves one call per batch rather than one per page view, while a read that
// arrives on an idle line waits for nothing. Every read still gets its own stats (including it)
// or its own error. Thread-safe.
//
// Traces: a read sent alone carries its own call's trace context. A batch of several reads gets
// a span of its own (a new span id) in the trace of its first sampled read, or of its first read
// when none is sampled, and is sampled when any of its reads is; for every sampled read it logs
// "read sent in a batch" with the read's trace and span ids and the batch's, so that the read's
// trace can be joined to analytics-service's access line of the batch (whose parent_id is the
// batch's span id). W3C traceparent has no way to name several parents.
class ReadCoalescer {
 public:
  // `analytics` is not owned and must outlive this object.
  ReadCoalescer(AnalyticsClient* analytics, ReadCoalescerOptions options);

  ReadCoalescer(const ReadCoalescer&) = delete;
  ReadCoalescer& operator=(const ReadCoalescer&) = delete;

  // Records `read`; `done` runs exactly once, with the article's stats including the read, or
  // with the reason it was not recorded in time (it may still have been, later: same read_id).
  // A read still waiting at `deadline` fails with DEADLINE_EXCEEDED without being sent.
  // `trace` is the span of the call that made the read.
  void Record(analytics_v1::RecordReadRequest read, absl::Time deadline, const TraceContext& trace,
              AnalyticsClient::Callback<analytics_v1::ReadStats> done);

  // A read not yet answered, as Record got it.
  struct Waiting {
    analytics_v1::RecordReadRequest read;
    absl::Time deadline;
    TraceContext trace;
    AnalyticsClient::Callback<analytics_v1::ReadStats> done;
  };

 private:
  // Sends `batch` in one call (the slot is already counted in `calls_in_flight_`).
  void Send(std::vector<Waiting> batch);
  // Hands the slot of a finished call to the reads that waited, or frees it.
  void SendWaitingOrRelease();
  // Answers each read of `batch` from the call's result.
  void Finish(std::vector<Waiting> batch,
              absl::StatusOr<std::vector<analytics_v1::ReadStats>> stats);

  AnalyticsClient* const analytics_;
  const ReadCoalescerOptions options_;
  absl::Mutex mu_;
  std::deque<Waiting> waiting_ ABSL_GUARDED_BY(mu_);
  int calls_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace newsroom::content
