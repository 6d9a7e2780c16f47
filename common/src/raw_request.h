#pragma once

#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/slice.h>

namespace newsroom {

// Parses the request of a raw (ByteBuffer) callback method into `message`, as gRPC parses the
// request of a generated one; false when it is not a valid message (answer it with
// UnparsableRequestStatus()). A raw method lets a handler send bytes it already has, rather than a
// message for gRPC to serialize.
template <typename Message>
[[nodiscard]] bool ParseRawRequest(const grpc::ByteBuffer& request, Message* message) {
  grpc::Slice slice;
  // A request arrives in one slice unless it is large; then it is joined into one.
  if (!request.TrySingleSlice(&slice).ok() && !request.DumpToSingleSlice(&slice).ok()) {
    return false;
  }
  return message->ParseFromArray(slice.begin(), static_cast<int>(slice.size()));
}

}  // namespace newsroom
