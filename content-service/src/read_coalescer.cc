#include "content-service/src/read_coalescer.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "common/src/log.h"

namespace newsroom::content {

ReadCoalescer::ReadCoalescer(AnalyticsClient* analytics, ReadCoalescerOptions options)
    : analytics_(analytics),
      options_{.max_calls_in_flight = std::max(options.max_calls_in_flight, 1),
               .max_batch_size = std::max<std::size_t>(options.max_batch_size, 1)} {}

namespace {

// The span of a batch of several reads: see the class comment.
TraceContext BatchTrace(const std::vector<ReadCoalescer::Waiting>& batch) {
  const ReadCoalescer::Waiting* first_sampled = nullptr;
  for (const auto& waiting : batch) {
    if (waiting.trace.sampled()) {
      first_sampled = &waiting;
      break;
    }
  }
  return NewChildSpan(first_sampled != nullptr ? first_sampled->trace : batch.front().trace);
}

// Logs, for each sampled read of `batch`, which batch carried it.
void LogBatchMembers(const std::vector<ReadCoalescer::Waiting>& batch, const TraceContext& span) {
  if (!span.sampled()) return;
  const std::string batch_trace_id = TraceIdHex(span);
  const std::string batch_span_id = SpanIdHex(span);
  for (const auto& waiting : batch) {
    if (!waiting.trace.sampled()) continue;
    log::Info("read sent in a batch", {{"trace_id", TraceIdHex(waiting.trace)},
                                       {"span_id", SpanIdHex(waiting.trace)},
                                       {"batch_trace_id", batch_trace_id},
                                       {"batch_span_id", batch_span_id},
                                       {"batch_size", batch.size()}});
  }
}

}  // namespace

void ReadCoalescer::Record(analytics_v1::RecordReadRequest read, absl::Time deadline,
                           const TraceContext& trace,
                           AnalyticsClient::Callback<analytics_v1::ReadStats> done) {
  {
    absl::MutexLock lock(&mu_);
    if (calls_in_flight_ >= options_.max_calls_in_flight || !waiting_.empty()) {
      waiting_.push_back({std::move(read), deadline, trace, std::move(done)});
      return;
    }
    ++calls_in_flight_;
  }
  std::vector<Waiting> alone;
  alone.push_back({std::move(read), deadline, trace, std::move(done)});
  Send(std::move(alone));
}

void ReadCoalescer::Send(std::vector<Waiting> batch) {
  // Reads that waited past their deadline are answered now rather than sent: their callers have
  // given up, and their deadline would cut the whole call short.
  const absl::Time now = absl::Now();
  std::vector<Waiting> live;
  live.reserve(batch.size());
  for (Waiting& waiting : batch) {
    if (waiting.deadline <= now) {
      std::move(waiting.done)(absl::DeadlineExceededError("read waited past its deadline"));
    } else {
      live.push_back(std::move(waiting));
    }
  }
  if (live.empty()) return SendWaitingOrRelease();

  if (live.size() == 1) {
    auto shared = std::make_shared<std::vector<Waiting>>(std::move(live));
    const Waiting& only = shared->front();
    analytics_->RecordRead(only.read, only.deadline, only.trace,
                           [this, shared](absl::StatusOr<analytics_v1::ReadStats> stats) {
                             SendWaitingOrRelease();
                             std::vector<Waiting> batch = std::move(*shared);
                             if (!stats.ok()) return Finish(std::move(batch), stats.status());
                             std::vector<analytics_v1::ReadStats> one;
                             one.push_back(*std::move(stats));
                             Finish(std::move(batch), std::move(one));
                           });
    return;
  }

  absl::Time deadline = absl::InfiniteFuture();
  std::vector<analytics_v1::RecordReadRequest> reads;
  reads.reserve(live.size());
  for (const Waiting& waiting : live) {
    deadline = std::min(deadline, waiting.deadline);
    reads.push_back(waiting.read);
  }
  const TraceContext span = BatchTrace(live);
  LogBatchMembers(live, span);
  auto shared = std::make_shared<std::vector<Waiting>>(std::move(live));
  analytics_->RecordReads(
      std::move(reads), deadline, span,
      [this, shared](absl::StatusOr<std::vector<analytics_v1::ReadStats>> stats) {
        SendWaitingOrRelease();
        Finish(std::move(*shared), std::move(stats));
      });
}

void ReadCoalescer::SendWaitingOrRelease() {
  std::vector<Waiting> batch;
  {
    absl::MutexLock lock(&mu_);
    if (waiting_.empty()) {
      --calls_in_flight_;
      return;
    }
    const std::size_t size = std::min(waiting_.size(), options_.max_batch_size);
    batch.reserve(size);
    for (std::size_t i = 0; i < size; ++i) {
      batch.push_back(std::move(waiting_.front()));
      waiting_.pop_front();
    }
  }
  Send(std::move(batch));
}

void ReadCoalescer::Finish(std::vector<Waiting> batch,
                           absl::StatusOr<std::vector<analytics_v1::ReadStats>> stats) {
  if (stats.ok() && stats->size() == batch.size()) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      std::move(batch[i].done)(std::move((*stats)[i]));
    }
    return;
  }
  if (stats.ok()) {
    stats = absl::InternalError("analytics answered a batch of reads only in part");
  }
  if (stats.status().code() == absl::StatusCode::kInvalidArgument && batch.size() > 1) {
    // Analytics refuses a whole batch for one bad read. Each read alone finds out which; the
    // good ones are counted, the bad one gets its own refusal.
    for (Waiting& waiting : batch) {
      analytics_->RecordRead(waiting.read, waiting.deadline, waiting.trace,
                             std::move(waiting.done));
    }
    return;
  }
  for (Waiting& waiting : batch) std::move(waiting.done)(stats.status());
}

}  // namespace newsroom::content
