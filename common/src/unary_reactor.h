#pragma once

#include <grpcpp/support/server_callback.h>

#include <utility>

#include "absl/status/statusor.h"
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

}  // namespace newsroom
