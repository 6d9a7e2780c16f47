#pragma once

// What every server call of both services gets, whoever runs it: a trace (the caller's
// traceparent, or a new one), and when it ends, its metrics and its access line.
//
// Two places run it. gRPC's interceptor API does for most methods
// (common/src/server_interceptor.h). It is not free in gRPC 1.51: a call with an interceptor
// allocates it, runs every batch of the call through it, and re-queues each completed batch on the
// completion queue once more to run its post-hooks: 7 to 16% of the empty RPC's server CPU under
// h2load at 16 x 32 (docs/performance.md, "Calls observed in their handlers"). So the raw
// methods (the hot ones, and content-service's ListMostReadArticles), which parse their own
// requests and so do not need the interceptor's parse check either, observe their calls in their
// handlers instead: each registers with the server's CallObserver (ObserveInHandler), which tells
// the interceptor to leave its calls alone, and wraps each call in an ObservedCall.

#include <grpcpp/support/config.h>
#include <grpcpp/support/status.h>
#include <grpcpp/support/string_ref.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "common/src/grpc_server_metrics.h"
#include "common/src/log.h"
#include "common/src/trace_context.h"

namespace newsroom {

// The access line of a call that ended with `code`: always for a server-side failure (UNKNOWN,
// DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, DATA_LOSS; level error), else only when its trace is
// sampled (level info). nullopt: no line.
[[nodiscard]] std::optional<log::Level> AccessLogLevel(grpc::StatusCode code, bool sampled);

// The status of a call whose request is not a valid message (malformed protobuf, or a proto3 string
// field holding invalid UTF-8): INVALID_ARGUMENT saying so. Raw methods, which parse their own
// requests (see ParseRawRequest), answer it themselves.
[[nodiscard]] grpc::Status UnparsableRequestStatus();

// What one method's calls are observed with: fixed for the server's life, shared by its calls.
struct ObservedMethod {
  absl::string_view path;                              // "/package.Service/Method"
  const GrpcServerMetrics::Method* metrics = nullptr;  // null: no metrics
  double sample_rate = 0;                              // of new traces
};

// A server's observation settings, and the methods whose handlers observe their own calls. One
// object is given to the server (GrpcServerOptions::call_observer) and to the services whose
// handlers use it; services register at construction, before the server starts.
class CallObserver final {
 public:
  // `metrics` (may be null: no metrics) is not owned and must outlive this object. Calls without a
  // valid traceparent start a trace sampled at `access_log_sample_rate` (0 to 1).
  CallObserver(const GrpcServerMetrics* metrics, double access_log_sample_rate);

  // Registers a method (such as "newsroom.content.v1.ContentService" and "GetArticle"; a method
  // the generated descriptor pool does not know is a programming error and aborts) as observed by
  // its handler, which must then wrap every call in an ObservedCall of the returned method; the
  // interceptor leaves its calls alone. Not thread-safe: call before the server starts.
  [[nodiscard]] const ObservedMethod& ObserveInHandler(absl::string_view service_full_name,
                                                       absl::string_view method_name);

  // Whether `path`'s handler observes its calls (the interceptor's question, on every call).
  [[nodiscard]] bool ObservedInHandler(absl::string_view path) const {
    return in_handler_.contains(path);
  }

  // The method `path` (viewed, not copied) as this server observes it.
  [[nodiscard]] ObservedMethod Method(absl::string_view path) const;

 private:
  const GrpcServerMetrics* const metrics_;
  const double sample_rate_;
  // By path. Node-based: ObserveInHandler hands out references that later insertions must not move.
  absl::node_hash_map<std::string, ObservedMethod> in_handler_;
};

// One server call's observation, from its start to its status. Until Finish, nothing but the trace
// is computed: an unsampled call that ends OK costs a header lookup, a few random bytes and two
// clock reads, and writes nothing.
class ObservedCall final {
 public:
  using Metadata = std::multimap<grpc::string_ref, grpc::string_ref>;

  // Starts the call's clock; its trace comes with StartTrace.
  explicit ObservedCall(const ObservedMethod& method)
      : method_(&method), start_(std::chrono::steady_clock::now()) {}

  // Starts the clock and the trace from the call's `client_metadata`.
  ObservedCall(const ObservedMethod& method, const Metadata& client_metadata)
      : ObservedCall(method) {
    StartTrace(client_metadata);
  }

  // The call's trace: the caller's (with a new span of its own for this server) when the metadata
  // holds exactly one valid traceparent, else a new trace sampled at the method's rate.
  void StartTrace(const Metadata& client_metadata);

  // This server's span of the call's trace, to pass on with whatever the call does next.
  [[nodiscard]] const TraceContext& trace() const { return span_; }

  // Records the call's end: counts it by status code and observes its latency (with metrics), and
  // writes its access line when AccessLogLevel says so. Call once, before the status is sent, so
  // that whoever sees the status can see the call counted.
  void Finish(const grpc::Status& status) const;

 private:
  const ObservedMethod* method_;
  std::chrono::steady_clock::time_point start_;
  TraceContext span_;                   // this server's span of the call's trace
  std::optional<TraceContext> parent_;  // the caller's, when it sent a valid traceparent
};

}  // namespace newsroom
