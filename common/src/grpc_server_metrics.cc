#include "common/src/grpc_server_metrics.h"

#include <google/protobuf/descriptor.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/build_info.h"
#include "common/src/log.h"

namespace newsroom {

absl::string_view GrpcCodeName(int code) {
  static constexpr absl::string_view kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code < 0 || code >= static_cast<int>(std::size(kNames))) return "Unknown";
  return kNames[code];
}

GrpcServerMetrics::GrpcServerMetrics(metrics::MetricsRegistry& registry,
                                     const std::vector<std::string>& service_names) {
  for (const std::string& service_name : service_names) {
    const google::protobuf::ServiceDescriptor* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service_name);
    if (service == nullptr) {
      log::Error("metrics: no such service in the descriptor pool", {{"service", service_name}});
      std::abort();
    }
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      const char* type = method->client_streaming()
                             ? (method->server_streaming() ? "bidi_stream" : "client_stream")
                             : (method->server_streaming() ? "server_stream" : "unary");
      const metrics::Labels labels = {
          {"grpc_service", service_name}, {"grpc_method", method->name()}, {"grpc_type", type}};
      Method series;
      for (int code = 0; code < static_cast<int>(series.handled.size()); ++code) {
        metrics::Labels with_code = labels;
        with_code.emplace_back("grpc_code", std::string(GrpcCodeName(code)));
        series.handled[code] = &registry.AddCounter("grpc_server_handled_total",
                                                    "RPCs completed on the server, by status code.",
                                                    std::move(with_code));
      }
      if (!method->client_streaming() && !method->server_streaming()) {
        series.latency = &registry.AddHistogram(
            "grpc_server_handling_seconds",
            "Time from a unary call's arrival to its status being sent, in seconds.",
            metrics::LatencyBuckets(), labels);
      }
      methods_.emplace(absl::StrCat("/", service_name, "/", method->name()), series);
    }
  }
}

const GrpcServerMetrics::Method* GrpcServerMetrics::Find(absl::string_view path) const {
  const auto it = methods_.find(path);
  return it == methods_.end() ? nullptr : &it->second;
}

void AddBuildInfo(metrics::MetricsRegistry& registry, absl::string_view service) {
  registry
      .AddGauge("newsroom_build_info",
                "Always 1; the labels say which build is running (version from CMake's project "
                "VERSION, commit from git at configure time).",
                {{"service", std::string(service)},
                 {"version", kNewsroomVersion},
                 {"commit", kNewsroomGitCommit}})
      .Set(1);
  registry
      .AddGauge("process_start_time_seconds",
                "Start time of the process since the Unix epoch, in "
                "seconds.")
      .Set(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
}

}  // namespace newsroom
