#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace newsroom {

// The one mapping between absl::Status (used below the RPC layer) and grpc::Status (used at the
// RPC edge). Codes map one to one; the message is kept.
[[nodiscard]] grpc::Status ToGrpcStatus(const absl::Status& status);
[[nodiscard]] absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace newsroom
