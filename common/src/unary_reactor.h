#pragma once

#include <grpcpp/support/server_callback.h>

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/src/call_limiter.h"
#include "common/src/grpc_status.h"

namespace newsroom {

// The completion of a callback-API unary call whose logic answers asynchronously: moves the result
// into `response` and finishes `reactor` with the matching status. Both services' gRPC layers use
// it, so absl::Status meets grpc::Status in this one place.
template <typename Response>
auto FinishInto(grpc::ServerUnaryReactor* reactor, Response* response) {
  return [reactor, response](absl::StatusOr<Response> result) {
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
  };
}

// FinishInto for an admitted call: the permit is released once the call is finished.
template <typename Response>
auto FinishInto(grpc::ServerUnaryReactor* reactor, Response* response, CallLimiter::Permit permit) {
  return [reactor, response, permit = std::move(permit)](absl::StatusOr<Response> result) mutable {
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
    permit.Release();
  };
}

// Refuses a call that `limiter` has no room for, with the reason and what to do about it.
inline grpc::ServerUnaryReactor* FinishOverloaded(grpc::CallbackServerContext* context,
                                                  const CallLimiter& limiter) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               absl::StrCat("server busy: ", limiter.max_in_flight(),
                                            " calls in flight; retry with backoff")));
  return reactor;
}

}  // namespace newsroom
