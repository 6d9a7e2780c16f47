#pragma once

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/server_callback.h>

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/src/call_limiter.h"
#include "common/src/grpc_status.h"
#include "common/src/server_call.h"

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

// FinishInto for an admitted call of a raw method that observes its own calls: the result is
// serialized into `response` as gRPC would serialize a generated method's response, the call's end
// is recorded, and the permit is released once the call is finished.
template <typename Response>
auto FinishSerializedInto(grpc::ServerUnaryReactor* reactor, grpc::ByteBuffer* response,
                          CallLimiter::Permit permit, ObservedCall call) {
  return [reactor, response, permit = std::move(permit),
          call](absl::StatusOr<Response> result) mutable {
    grpc::Status status = ToGrpcStatus(result.status());
    if (result.ok()) {
      bool own_buffer = false;
      status = grpc::SerializationTraits<Response>::Serialize(*result, response, &own_buffer);
    }
    call.Finish(status);
    reactor->Finish(std::move(status));
    permit.Release();
  };
}

// Finishes a call of a method that observes its own calls with `status`, now.
inline grpc::ServerUnaryReactor* FinishObserved(grpc::CallbackServerContext* context,
                                                const ObservedCall& call, grpc::Status status) {
  call.Finish(status);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

// The status of a call that `limiter` has no room for: the reason and what to do about it.
inline grpc::Status OverloadedStatus(const CallLimiter& limiter) {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat("server busy: ", limiter.max_in_flight(),
                                   " calls in flight; retry with backoff"));
}

// Refuses a call that `limiter` has no room for (OverloadedStatus).
inline grpc::ServerUnaryReactor* FinishOverloaded(grpc::CallbackServerContext* context,
                                                  const CallLimiter& limiter) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(OverloadedStatus(limiter));
  return reactor;
}

}  // namespace newsroom
