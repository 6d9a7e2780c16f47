#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace newsroom {

// The one mapping between absl::Status (used below the RPC layer) and grpc::Status (used at the
// RPC edge). Codes map one to one; the message is kept.
[[nodiscard]] grpc::Status ToGrpcStatus(const absl::Status& status);
[[nodiscard]] absl::Status FromGrpcStatus(const grpc::Status& status);

// The canonical name of `code`: "OK", "NOT_FOUND", ... ("UNKNOWN" when out of range).
[[nodiscard]] absl::string_view StatusCodeName(grpc::StatusCode code);

}  // namespace newsroom
