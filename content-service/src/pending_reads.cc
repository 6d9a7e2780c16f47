#include "content-service/src/pending_reads.h"

#include <algorithm>
#include <string>
#include <vector>

#include "common/src/log.h"

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
      log::Info("reads left in the outbox; delivering them", {{"reads", pending_}});
    }
  } else {
    log::Error("cannot count the read outbox", {{"error", left.status().ToString()}});
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
        log::Error("read outbox full; read dropped",
                   {{"max_pending", options_.max_pending}, {"dropped_so_far", dropped}});
      }
      return false;
    }
  }
  const absl::Status saved = outbox_->Append({read}, absl::Now());
  absl::MutexLock lock(&mutex_);
  if (!saved.ok()) {
    const std::uint64_t dropped = ++counters_.dropped_unsaved;
    if (ShouldLog(dropped)) {
      log::Error("cannot save a read to the outbox; read dropped",
                 {{"error", saved.ToString()}, {"dropped_so_far", dropped}});
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
  log::Error("dropped expired reads from the outbox",
             {{"reads", *expired}, {"max_age", absl::FormatDuration(options_.max_age)}});
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
    log::Error("cannot read the outbox", {{"error", entries.status().ToString()}});
    return false;
  }
  std::vector<analytics_v1::RecordReadRequest> batch;
  batch.reserve(entries->size());
  for (const OutboxEntry& entry : *entries) batch.push_back(entry.read);

  std::vector<int64_t> settled;  // ids delivered or refused: done with either way
  std::uint64_t delivered = 0;
  std::uint64_t rejected = 0;
  // Each delivery is a trace of its own (the reads' callers are long gone), always sampled:
  // deliveries happen only after an outage, and analytics-service's access line of each is worth
  // having. The lines below carry its ids.
  const TraceContext trace = NewTrace(1.0);
  const std::string trace_id = TraceIdHex(trace);
  const absl::Status status = analytics_->BatchRecordReads(batch, call_deadline, trace);
  if (status.ok()) {
    for (const OutboxEntry& entry : *entries) settled.push_back(entry.id);
    delivered = settled.size();
  } else if (status.code() == absl::StatusCode::kInvalidArgument) {
    // One read analytics refuses rejects the whole batch; send them one at a time so that only
    // the refused ones are dropped. (Reads are validated before they are queued, so this means
    // the two services disagree, e.g. on the time; retrying a refused read would never end.)
    for (const OutboxEntry& entry : *entries) {
      const absl::Status one = analytics_->BatchRecordReads({entry.read}, call_deadline, trace);
      if (one.ok()) {
        ++delivered;
      } else if (one.code() == absl::StatusCode::kInvalidArgument) {
        ++rejected;
        log::Warning(
            "analytics refused a queued read; dropped",
            {{"article", entry.read.article()}, {"error", one.message()}, {"trace_id", trace_id}});
      } else {
        break;  // unavailable again: the rest stays pending
      }
      settled.push_back(entry.id);
    }
  }
  if (const absl::Status removed = outbox_->Remove(settled); !removed.ok()) {
    // They stay in the outbox and will be sent again: harmless, their read_ids dedup them.
    log::Error("cannot remove delivered reads from the outbox",
               {{"error", removed.ToString()}, {"trace_id", trace_id}});
    return false;
  }
  if (delivered > 0) {
    log::Info("delivered queued reads", {{"reads", delivered}, {"trace_id", trace_id}});
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
