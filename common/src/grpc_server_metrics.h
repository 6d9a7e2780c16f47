#pragma once

#include <array>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "common/src/metrics.h"

namespace newsroom {

// Per-method gRPC server metrics, named as go-grpc-prometheus names them (so existing dashboards
// and queries work): grpc_server_handled_total{grpc_service, grpc_method, grpc_type, grpc_code}
// and, for unary methods, grpc_server_handling_seconds{grpc_service, grpc_method, grpc_type}.
// Every series is created up front, so recording a call is a hash lookup and two atomic adds.
// Recorded by ObservedCall::Finish, in a handler or GrpcServer's interceptor (see CallObserver).
class GrpcServerMetrics final {
 public:
  // The series of one method.
  struct Method {
    std::array<metrics::Counter*, 17> handled{};  // by grpc::StatusCode
    metrics::Histogram* latency = nullptr;        // null for streaming methods
  };

  // Creates the series of every method of `service_names` (full names such as
  // "newsroom.content.v1.ContentService", looked up in the generated descriptor pool; an unknown
  // name is a programming error and aborts).
  GrpcServerMetrics(metrics::MetricsRegistry& registry,
                    const std::vector<std::string>& service_names);

  // The series of `path` ("/package.Service/Method"), or null for a method of another service.
  [[nodiscard]] const Method* Find(absl::string_view path) const;

 private:
  absl::flat_hash_map<std::string, Method> methods_;
};

// The code names go-grpc-prometheus uses for grpc_code ("OK", "NotFound", ...), by code number.
[[nodiscard]] absl::string_view GrpcCodeName(int code);

// Adds newsroom_build_info{service, version, commit} 1 (version from CMake's project VERSION, the
// git commit at configure time or "unknown") and process_start_time_seconds.
void AddBuildInfo(metrics::MetricsRegistry& registry, absl::string_view service);

}  // namespace newsroom
