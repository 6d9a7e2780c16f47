#include "content-service/src/pending_reads.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace newsroom::content {
namespace {

// Logs at powers of two, so that a long outage cannot flood the log.
bool ShouldLog(std::uint64_t count) { return (count & (count - 1)) == 0; }

}  // namespace

PendingReads::PendingReads(AnalyticsClient* analytics, ReadOutbox* outbox,
                           PendingReadsOptions options)
    : analytics_(analytics), outbox_(outbox), options_(options) {
  if (absl::StatusOr<int64_t> left = outbox_->Count(); left.ok()) {
    pending_ = static_cast<std::size_t>(*left);
    if (pending_ > 0) {
      std::fprintf(stderr, "content-service: %zu reads left in the outbox; delivering them\n",
                   pending_);
    }
  } else {
    std::fprintf(stderr, "content-service: cannot count the read outbox: %s\n",
                 left.status().ToString().c_str());
    pending_ = 1;  // look anyway: the delivery loop finds out what is there
  }
  delivery_thread_ = std::thread([this] { DeliveryLoop(); });
}

PendingReads::~PendingReads() { Shutdown(absl::Now()); }

bool PendingReads::Enqueue(analytics_v1::RecordReadRequest read) {
  // Appends are serialised with each other and with the delivery's look at the outbox, so that the
  // bound is exact and `pending_` never misses a read the delivery did not see.
  absl::MutexLock append_lock(&append_mutex_);
  {
    absl::MutexLock lock(&mutex_);
    if (pending_ >= options_.max_pending) {
      const std::uint64_t dropped = ++counters_.dropped_full;
      if (ShouldLog(dropped)) {
        std::fprintf(stderr, "content-service: read outbox full (%zu); dropped %llu reads so far\n",
                     options_.max_pending, static_cast<unsigned long long>(dropped));
      }
      return false;
    }
  }
  const absl::Status saved = outbox_->Append({read}, absl::Now());
  absl::MutexLock lock(&mutex_);
  if (!saved.ok()) {
    const std::uint64_t dropped = ++counters_.dropped_unsaved;
    if (ShouldLog(dropped)) {
      std::fprintf(stderr, "content-service: cannot save a read to the outbox (%s); dropped %llu\n",
                   saved.ToString().c_str(), static_cast<unsigned long long>(dropped));
    }
    return false;
  }
  ++pending_;
  ++counters_.enqueued;
  return true;
}

absl::Duration PendingReads::OldestAge() const {
  {
    absl::MutexLock lock(&mutex_);
    if (pending_ == 0) return absl::ZeroDuration();
  }
  const absl::StatusOr<std::vector<OutboxEntry>> oldest = outbox_->Oldest(1);
  if (!oldest.ok() || oldest->empty()) return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(), absl::Now() - oldest->front().queued_at);
}

PendingReadsCounters PendingReads::counters() const {
  absl::MutexLock lock(&mutex_);
  PendingReadsCounters counters = counters_;
  counters.pending = pending_;
  return counters;
}

void PendingReads::DropExpired() {
  const absl::StatusOr<int64_t> expired =
      outbox_->RemoveQueuedBefore(absl::Now() - options_.max_age);
  if (!expired.ok() || *expired == 0) return;
  std::fprintf(stderr, "content-service: dropped %lld reads older than %s from the outbox\n",
               static_cast<long long>(*expired), absl::FormatDuration(options_.max_age).c_str());
  absl::MutexLock lock(&mutex_);
  counters_.dropped_expired += static_cast<std::uint64_t>(*expired);
  pending_ -= std::min(pending_, static_cast<std::size_t>(*expired));
}

bool PendingReads::DeliverOneBatch(absl::Time call_deadline) {
  absl::MutexLock delivery_lock(&delivery_mutex_);
  DropExpired();
  absl::StatusOr<std::vector<OutboxEntry>> entries;
  {
    absl::MutexLock append_lock(&append_mutex_);
    entries = outbox_->Oldest(options_.batch_size);
    if (entries.ok() && entries->empty()) {
      absl::MutexLock lock(&mutex_);
      pending_ = 0;  // whatever the count said (say, it could not be read at start), none is left
      return true;
    }
  }
  if (!entries.ok()) {
    std::fprintf(stderr, "content-service: cannot read the outbox: %s\n",
                 entries.status().ToString().c_str());
    return false;
  }
  std::vector<analytics_v1::RecordReadRequest> batch;
  batch.reserve(entries->size());
  for (const OutboxEntry& entry : *entries) batch.push_back(entry.read);

  std::vector<int64_t> settled;  // ids delivered or refused: done with either way
  std::uint64_t delivered = 0;
  std::uint64_t rejected = 0;
  const absl::Status status = analytics_->BatchRecordReads(batch, call_deadline);
  if (status.ok()) {
    for (const OutboxEntry& entry : *entries) settled.push_back(entry.id);
    delivered = settled.size();
  } else if (status.code() == absl::StatusCode::kInvalidArgument) {
    // One read analytics refuses rejects the whole batch; send them one at a time so that only
    // the refused ones are dropped. (Reads are validated before they are queued, so this means
    // the two services disagree, e.g. on the time; retrying a refused read would never end.)
    for (const OutboxEntry& entry : *entries) {
      const absl::Status one = analytics_->BatchRecordReads({entry.read}, call_deadline);
      if (one.ok()) {
        ++delivered;
      } else if (one.code() == absl::StatusCode::kInvalidArgument) {
        ++rejected;
        std::fprintf(stderr, "content-service: analytics refused a queued read: %s\n",
                     std::string(one.message()).c_str());
      } else {
        break;  // unavailable again: the rest stays pending
      }
      settled.push_back(entry.id);
    }
  }
  if (const absl::Status removed = outbox_->Remove(settled); !removed.ok()) {
    // They stay in the outbox and will be sent again: harmless, their read_ids dedup them.
    std::fprintf(stderr, "content-service: cannot remove delivered reads from the outbox: %s\n",
                 removed.ToString().c_str());
    return false;
  }
  absl::MutexLock lock(&mutex_);
  pending_ -= std::min(pending_, settled.size());
  counters_.delivered += delivered;
  counters_.dropped_rejected += rejected;
  return settled.size() == entries->size();
}

void PendingReads::DeliveryLoop() {
  absl::Duration backoff = options_.min_backoff;
  while (true) {
    {
      absl::MutexLock lock(&mutex_);
      const auto has_work = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) {
        return stopping_ || pending_ > 0;
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
    if (stopping_) return pending_;
    stopping_ = true;
  }
  delivery_thread_.join();
  while (absl::Now() < deadline) {
    {
      absl::MutexLock lock(&mutex_);
      if (pending_ == 0) break;
    }
    if (!DeliverOneBatch(std::min(deadline, absl::Now() + options_.call_timeout))) {
      absl::SleepFor(std::min(options_.min_backoff, deadline - absl::Now()));
    }
  }
  absl::MutexLock lock(&mutex_);
  return pending_;
}

}  // namespace newsroom::content
