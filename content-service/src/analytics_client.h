#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/src/trace_context.h"
#include "newsroom/analytics/v1/analytics_service.pb.h"

namespace newsroom::content {

namespace analytics_v1 = ::newsroom::analytics::v1;

// content-service's view of analytics-service. Asynchronous so that a page view never parks a
// server thread while analytics answers; `done` runs exactly once, on an RPC thread, and must not
// block for long. Every call ends by `deadline` at the latest (DEADLINE_EXCEEDED). Every call
// carries `trace` to analytics-service as its traceparent: `trace.span_id` is the parent of
// analytics-service's span (content-service's span of the call that caused it).
class AnalyticsClient {
 public:
  template <typename T>
  using Callback = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  virtual ~AnalyticsClient() = default;

  // Records one read; yields the article's stats including it.
  virtual void RecordRead(const analytics_v1::RecordReadRequest& request, absl::Time deadline,
                          const TraceContext& trace, Callback<analytics_v1::ReadStats> done) = 0;

  // Records `reads` in one call; yields, for each read in order, its article's stats including
  // it. INVALID_ARGUMENT when any read is invalid (then none is recorded).
  virtual void RecordReads(std::vector<analytics_v1::RecordReadRequest> reads, absl::Time deadline,
                           const TraceContext& trace,
                           Callback<std::vector<analytics_v1::ReadStats>> done) = 0;

  // Yields the stats of every article in `articles`, in the same order.
  virtual void BatchGetReadStats(std::vector<std::string> articles, absl::Time deadline,
                                 const TraceContext& trace,
                                 Callback<std::vector<analytics_v1::ReadStats>> done) = 0;

  // Yields one page of the most read articles.
  virtual void ListTopArticles(const analytics_v1::ListTopArticlesRequest& request,
                               absl::Time deadline, const TraceContext& trace,
                               Callback<analytics_v1::ListTopArticlesResponse> done) = 0;

  // Records reads in one call, blocking; for the background delivery of queued reads.
  [[nodiscard]] virtual absl::Status BatchRecordReads(
      const std::vector<analytics_v1::RecordReadRequest>& reads, absl::Time deadline,
      const TraceContext& trace) = 0;

  // An open WatchReadStats stream.
  class ReadStatsWatch {
   public:
    virtual ~ReadStatsWatch() = default;
    // Ends the stream: `on_done` then runs with CANCELLED, unless it already ran. Safe to call at
    // any time, more than once, from any thread.
    virtual void Cancel() = 0;
  };

  // What a WatchReadStats stream reports.
  struct WatchCallbacks {
    // Each message's stats, in order, one message at a time, on an RPC thread; must not block.
    absl::AnyInvocable<void(std::vector<analytics_v1::ReadStats>)> on_update;
    // Once, after the last on_update: how the stream ended (it never ends OK by itself).
    absl::AnyInvocable<void(absl::Status) &&> on_done;
  };

  // Opens a WatchReadStats stream of `articles` (names, validated). No deadline: it runs until
  // Cancel() or until analytics-service ends it. The default implementation, for test doubles
  // that do not stream, ends at once with UNIMPLEMENTED.
  virtual std::shared_ptr<ReadStatsWatch> WatchReadStats(std::vector<std::string> articles,
                                                         const TraceContext& trace,
                                                         WatchCallbacks callbacks) {
    (void)articles;
    (void)trace;
    return Unimplemented("WatchReadStats", std::move(callbacks));
  }

  // Opens a WatchReadStatsChanges stream: the stats of every article whose stats change, a
  // message per interval. Like WatchReadStats otherwise.
  virtual std::shared_ptr<ReadStatsWatch> WatchReadStatsChanges(const TraceContext& trace,
                                                                WatchCallbacks callbacks) {
    (void)trace;
    return Unimplemented("WatchReadStatsChanges", std::move(callbacks));
  }

 private:
  static std::shared_ptr<ReadStatsWatch> Unimplemented(const char* method,
                                                       WatchCallbacks callbacks) {
    std::move(callbacks.on_done)(absl::UnimplementedError(method));
    struct Ended final : ReadStatsWatch {
      void Cancel() override {}
    };
    return std::make_shared<Ended>();
  }
};

}  // namespace newsroom::content
