#pragma once

// The interceptor GrpcServer puts on the calls of every method that does not observe its calls in
// its handler (see common/src/server_call.h): trace context, access log, metrics, and the
// INVALID_ARGUMENT answer to an unparsable request.

#include <grpcpp/support/server_interceptor.h>

#include <memory>

#include "common/src/server_call.h"
#include "common/src/trace_context.h"

namespace newsroom {

// The trace context of the interceptor-observed server call whose handler gRPC is running on this
// thread now: the call's trace (the caller's traceparent, or a new trace when it sent none or an
// invalid one) and this server's span of it. Handlers read it at entry and pass it on explicitly
// wherever the call continues on another thread; outside such a handler it is a new unsampled
// trace. (gRPC 1.51 runs a callback handler inside the interceptor's Proceed of the call's first
// batch, which is where the interceptor makes it visible; nowhere else.) A handler that observes
// its own calls reads ObservedCall::trace() instead.
[[nodiscard]] TraceContext CurrentCallTrace();

// Creates the interceptor of every call but grpc.health.v1's (probes would only be noise) and
// those of methods that `observer` says their handlers observe. `observer` is not owned and must
// outlive the server. The interceptor
// - reads the caller's traceparent or starts a trace, and gives the call a span of its own (see
//   CurrentCallTrace);
// - records the call's end as ObservedCall::Finish does;
// - answers a unary or server-streaming request that gRPC could not parse with INVALID_ARGUMENT
//   rather than gRPC 1.51's bare UNIMPLEMENTED.
[[nodiscard]] std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
NewServerInterceptorFactory(const CallObserver* observer);

}  // namespace newsroom
