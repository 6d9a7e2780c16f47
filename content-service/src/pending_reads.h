#pragma once

#include <cstdint>
#include <deque>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content-service/src/analytics_client.h"

namespace newsroom::content {

struct PendingReadsOptions {
  // Reads held at most; a read that finds the queue full is dropped, counted and logged.
  std::size_t max_pending = 100000;
  // Reads sent per BatchRecordReads call (analytics accepts up to 1000).
  std::size_t batch_size = 500;
  // Deadline of each delivery call.
  absl::Duration call_timeout = absl::Seconds(2);
  // Backoff between failed deliveries: doubles from `min_backoff` up to `max_backoff`.
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
};

struct PendingReadsCounters {
  std::size_t pending = 0;
  std::uint64_t delivered = 0;
  std::uint64_t dropped_full = 0;      // the queue was at max_pending
  std::uint64_t dropped_rejected = 0;  // analytics refused the read as invalid (INVALID_ARGUMENT)
};

// Reads that analytics-service did not acknowledge, delivered in the background in batches with
// backoff. Every read keeps its read_id, so a read that analytics did record before failing to
// answer is counted once when it is delivered again.
//
// Held in memory: reads still queued when the process dies are lost (a durable outbox is the
// reliability issue's work); Shutdown() delivers what it can before exit.
class PendingReads final {
 public:
  PendingReads(AnalyticsClient* analytics, PendingReadsOptions options);
  ~PendingReads();
  PendingReads(const PendingReads&) = delete;
  PendingReads& operator=(const PendingReads&) = delete;

  // Queues a read for delivery; returns false when it was dropped because the queue is full.
  bool Enqueue(analytics_v1::RecordReadRequest read);

  // Stops the background delivery after trying to deliver everything queued until `deadline`.
  // Returns the number of reads left undelivered.
  std::size_t Shutdown(absl::Time deadline);

  [[nodiscard]] PendingReadsCounters counters() const;

 private:
  void DeliveryLoop();
  // Sends up to one batch; returns false when analytics failed (the batch stays queued).
  bool DeliverOneBatch(absl::Time call_deadline);

  AnalyticsClient* const analytics_;
  const PendingReadsOptions options_;

  mutable absl::Mutex mutex_;
  std::deque<analytics_v1::RecordReadRequest> queue_ ABSL_GUARDED_BY(mutex_);
  PendingReadsCounters counters_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Serialises delivery between the background loop and Shutdown().
  absl::Mutex delivery_mutex_;
  std::thread delivery_thread_;
};

}  // namespace newsroom::content
