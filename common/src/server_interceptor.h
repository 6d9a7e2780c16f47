#pragma once

// The interceptor GrpcServer puts on every call: trace context, access log, metrics, and the
// INVALID_ARGUMENT answer to an unparsable request.

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <optional>

#include "absl/strings/string_view.h"
#include "common/src/grpc_server_metrics.h"
#include "common/src/log.h"
#include "common/src/trace_context.h"

namespace newsroom {

// The trace context of the server call whose handler gRPC is running on this thread now: the
// call's trace (the caller's traceparent, or a new trace when it sent none or an invalid one) and
// this server's span of it. Handlers read it at entry and pass it on explicitly wherever the call
// continues on another thread; outside a handler it is a new unsampled trace. (gRPC 1.51 runs a
// callback handler inside the interceptor's Proceed of the call's first batch, which is where the
// interceptor makes it visible; nowhere else.)
[[nodiscard]] TraceContext CurrentCallTrace();

// The access line of a call that ended with `code`: always for a server-side failure (UNKNOWN,
// DEADLINE_EXCEEDED, INTERNAL, UNAVAILABLE, DATA_LOSS; level error), else only when its trace is
// sampled (level info). nullopt: no line.
[[nodiscard]] std::optional<log::Level> AccessLogLevel(grpc::StatusCode code, bool sampled);

// The status of a call whose request is not a valid message (malformed protobuf, or a proto3 string
// field holding invalid UTF-8): INVALID_ARGUMENT saying so. Raw methods, which parse their own
// requests (see ParseRawRequest), answer it themselves.
[[nodiscard]] grpc::Status UnparsableRequestStatus();

// Creates the interceptor of every call but grpc.health.v1's (probes would only be noise):
// - reads the caller's traceparent or starts a trace sampled at `access_log_sample_rate`, and
//   gives the call a span of its own (see CurrentCallTrace);
// - writes the call's access line when AccessLogLevel says so;
// - with `metrics` (may be null), counts the call by status code and observes its latency;
// - answers a unary or server-streaming request that gRPC could not parse with INVALID_ARGUMENT
//   rather than gRPC 1.51's bare UNIMPLEMENTED.
[[nodiscard]] std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewServerInterceptorFactory(const GrpcServerMetrics* metrics, double access_log_sample_rate);

}  // namespace newsroom
