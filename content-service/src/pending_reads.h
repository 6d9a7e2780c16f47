#pragma once

#include <cstdint>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content-service/src/analytics_client.h"
#include "content-service/src/read_outbox.h"

namespace newsroom::content {

struct PendingReadsOptions {
  // Reads held at most; a read that finds the outbox full is dropped, counted and logged.
  std::size_t max_pending = 100000;
  // How long a read may wait for delivery; older ones are dropped, counted and logged. Must stay
  // well inside analytics-service's dedup window (--dedup-window, 48 h by default), or a late
  // redelivery of a read that was in fact counted would count it twice.
  absl::Duration max_age = absl::Hours(24);
  // Reads sent per BatchRecordReads call (analytics accepts up to 500).
  std::size_t batch_size = 500;
  // Deadline of each delivery call.
  absl::Duration call_timeout = absl::Seconds(2);
  // Backoff between failed deliveries: doubles from `min_backoff` up to `max_backoff`.
  absl::Duration min_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
};

struct PendingReadsCounters {
  std::size_t pending = 0;
  std::uint64_t enqueued = 0;  // saved to the outbox (analytics did not acknowledge in time)
  std::uint64_t delivered = 0;
  std::uint64_t dropped_full = 0;      // the outbox was at max_pending
  std::uint64_t dropped_expired = 0;   // waited longer than max_age
  std::uint64_t dropped_rejected = 0;  // analytics refused the read as invalid (INVALID_ARGUMENT)
  std::uint64_t dropped_unsaved = 0;   // the outbox could not store it (database error)
};

// Reads that analytics-service did not acknowledge, kept in a durable outbox and delivered in the
// background, oldest first, in batches with backoff. Every read keeps its read_id, so a read that
// analytics did record before failing to answer is counted once when it is delivered again. Reads
// left in the outbox by a previous process (a restart while analytics was down) are delivered too.
class PendingReads final {
 public:
  // `analytics` and `outbox` are not owned and must outlive this object.
  PendingReads(AnalyticsClient* analytics, ReadOutbox* outbox, PendingReadsOptions options);
  ~PendingReads();
  PendingReads(const PendingReads&) = delete;
  PendingReads& operator=(const PendingReads&) = delete;

  // Saves a read for delivery; returns false when it was dropped (outbox full or not writable).
  bool Enqueue(analytics_v1::RecordReadRequest read);

  // Stops the background delivery after trying to deliver everything pending until `deadline`.
  // Returns the number of reads left in the outbox, for the next process to deliver.
  std::size_t Shutdown(absl::Time deadline);

  [[nodiscard]] PendingReadsCounters counters() const;

  // How long the oldest read in the outbox has waited; zero when it is empty. Asks the outbox
  // (one indexed query), so call it per scrape, not per read.
  [[nodiscard]] absl::Duration OldestAge() const;

 private:
  void DeliveryLoop();
  // Drops reads older than max_age. Then sends up to one batch; returns false when analytics or
  // the outbox failed (the batch stays pending).
  bool DeliverOneBatch(absl::Time call_deadline);
  void DropExpired();

  AnalyticsClient* const analytics_;
  ReadOutbox* const outbox_;
  const PendingReadsOptions options_;

  // Held while saving a read and while the delivery reads the outbox; taken before `mutex_`.
  absl::Mutex append_mutex_;
  mutable absl::Mutex mutex_;
  // Mirrors the outbox's size, so that Enqueue need not ask the database.
  std::size_t pending_ ABSL_GUARDED_BY(mutex_) = 0;
  PendingReadsCounters counters_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  // Serialises delivery between the background loop and Shutdown().
  absl::Mutex delivery_mutex_;
  std::thread delivery_thread_;
};

}  // namespace newsroom::content
