#pragma once

// Small helpers for tests that call real services: a deadline for every call, and polling for a
// condition that becomes true asynchronously (a restart, a background delivery).

#include <grpcpp/client_context.h>

#include <chrono>
#include <functional>
#include <memory>

namespace newsroom::testing {

// A client context with a deadline `timeout` from now.
std::unique_ptr<grpc::ClientContext> Context(
    std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Polls `condition` every 20 ms for up to `timeout`; returns whether it held.
bool Eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(15));

}  // namespace newsroom::testing
