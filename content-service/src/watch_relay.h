#pragma once

#include <grpcpp/support/server_callback.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "content-service/src/analytics_client.h"
#include "newsroom/content/v1/content_service.pb.h"

namespace newsroom::content {

namespace content_v1 = ::newsroom::content::v1;

class WatchRelay;

// content-service's WatchArticleReadStats streams. Each relays one analytics-service
// WatchReadStats stream (opened for it, ended with it) to its caller, keeping only the latest
// stats per article while the caller is slow to read, so memory per stream is bounded by its
// articles however slowly the caller reads, and analytics-service is never held back by a caller.
//
// One upstream stream per caller rather than one shared: analytics-service already reads each
// article once per interval however many streams watch it, so sharing would only save HTTP/2
// streams on one connection, at the cost of coupling the callers' lifetimes and errors. The
// number of streams is bounded here (`max_watchers`) and by analytics-service's own limit.
class WatchRelays final {
 public:
  // `analytics` is not owned and must outlive every stream.
  WatchRelays(AnalyticsClient* analytics, int max_watchers)
      : analytics_(analytics), max_watchers_(max_watchers) {}
  WatchRelays(const WatchRelays&) = delete;
  WatchRelays& operator=(const WatchRelays&) = delete;

  // Serves one call: RESOURCE_EXHAUSTED when `max_watchers` streams are open, UNAVAILABLE after
  // Close(), else the error of `names` (validation, called only for an admitted call), else the
  // relay. The reactor frees itself when the call is done. The upstream stream carries `trace`
  // (the call's span).
  grpc::ServerWriteReactor<content_v1::WatchArticleReadStatsResponse>* Start(
      const TraceContext& trace,
      absl::FunctionRef<absl::StatusOr<std::vector<std::string>>()> names);

  // Ends every open stream with `status` (after sending what it holds for its caller) and refuses
  // new ones; for shutdown, so that streams, which never end by themselves, do not hold the drain.
  void Close(const absl::Status& status);

  // Streams open now.
  [[nodiscard]] std::size_t open_count() const;

 private:
  friend class WatchRelay;
  void Remove(const WatchRelay* relay);

  AnalyticsClient* const analytics_;
  const int max_watchers_;
  mutable absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::size_t admitting_ ABSL_GUARDED_BY(mu_) = 0;  // admitted calls being validated
  absl::flat_hash_map<const WatchRelay*, std::weak_ptr<WatchRelay>> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace newsroom::content
