#include "content-service/src/pending_reads.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace newsroom::content {

PendingReads::PendingReads(AnalyticsClient* analytics, PendingReadsOptions options)
    : analytics_(analytics), options_(options), delivery_thread_([this] { DeliveryLoop(); }) {}

PendingReads::~PendingReads() { Shutdown(absl::Now()); }

bool PendingReads::Enqueue(analytics_v1::RecordReadRequest read) {
  absl::MutexLock lock(&mutex_);
  if (queue_.size() >= options_.max_pending) {
    // Logged at powers of two so that a long outage cannot flood the log.
    const std::uint64_t dropped = ++counters_.dropped_full;
    if ((dropped & (dropped - 1)) == 0) {
      std::fprintf(stderr,
                   "content-service: pending-reads queue full (%zu); dropped %llu reads so far\n",
                   options_.max_pending, static_cast<unsigned long long>(dropped));
    }
    return false;
  }
  queue_.push_back(std::move(read));
  return true;
}

PendingReadsCounters PendingReads::counters() const {
  absl::MutexLock lock(&mutex_);
  PendingReadsCounters counters = counters_;
  counters.pending = queue_.size();
  return counters;
}

bool PendingReads::DeliverOneBatch(absl::Time call_deadline) {
  absl::MutexLock delivery_lock(&delivery_mutex_);
  std::vector<analytics_v1::RecordReadRequest> batch;
  {
    absl::MutexLock lock(&mutex_);
    const std::size_t n = std::min(options_.batch_size, queue_.size());
    batch.assign(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  if (batch.empty()) return true;

  std::size_t settled = 0;  // reads from the front of `batch` that are delivered or refused
  std::uint64_t delivered = 0;
  std::uint64_t rejected = 0;
  const absl::Status status = analytics_->BatchRecordReads(batch, call_deadline);
  if (status.ok()) {
    settled = delivered = batch.size();
  } else if (status.code() == absl::StatusCode::kInvalidArgument) {
    // One read analytics refuses rejects the whole batch; send them one at a time so that only
    // the refused ones are dropped. (Reads are validated before they are queued, so this means
    // the two services disagree, e.g. on the time; retrying a refused read would never end.)
    for (; settled < batch.size(); ++settled) {
      const absl::Status one = analytics_->BatchRecordReads({batch[settled]}, call_deadline);
      if (one.ok()) {
        ++delivered;
      } else if (one.code() == absl::StatusCode::kInvalidArgument) {
        ++rejected;
        std::fprintf(stderr, "content-service: analytics refused a queued read: %s\n",
                     std::string(one.message()).c_str());
      } else {
        break;  // unavailable again: the rest stays queued
      }
    }
  }

  absl::MutexLock lock(&mutex_);
  // Only this function removes from the front, and it is serialised, so the batch is still there.
  queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(settled));
  counters_.delivered += delivered;
  counters_.dropped_rejected += rejected;
  return settled == batch.size();
}

void PendingReads::DeliveryLoop() {
  absl::Duration backoff = options_.min_backoff;
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      const auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
        return stopping_ || !queue_.empty();
      };
      mutex_.Await(absl::Condition(&has_work));
      if (stopping_) return;
    }
    if (DeliverOneBatch(absl::Now() + options_.call_timeout)) {
      backoff = options_.min_backoff;
      continue;
    }
    // Jitter-free exponential backoff is enough with one delivering thread per process.
    absl::MutexLock lock(&mutex_);
    const auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return stopping_; };
    mutex_.AwaitWithTimeout(absl::Condition(&stopping), backoff);
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

std::size_t PendingReads::Shutdown(absl::Time deadline) {
  {
    absl::MutexLock lock(&mutex_);
    if (stopping_) return queue_.size();
    stopping_ = true;
  }
  delivery_thread_.join();
  while (absl::Now() < deadline) {
    {
      absl::MutexLock lock(&mutex_);
      if (queue_.empty()) break;
    }
    if (!DeliverOneBatch(std::min(deadline, absl::Now() + options_.call_timeout))) {
      absl::SleepFor(std::min(options_.min_backoff, deadline - absl::Now()));
    }
  }
  absl::MutexLock lock(&mutex_);
  return queue_.size();
}

}  // namespace newsroom::content
