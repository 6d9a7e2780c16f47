#include "common/src/server_call.h"

#include <google/protobuf/descriptor.h>

#include <cstddef>
#include <cstdlib>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/src/grpc_status.h"

namespace newsroom {

grpc::Status UnparsableRequestStatus() {
  return grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT,
      "request is not a valid message: malformed protobuf, or a string field that is not UTF-8");
}

std::optional<log::Level> AccessLogLevel(grpc::StatusCode code, bool sampled) {
  switch (code) {
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DATA_LOSS:
      return log::Level::kError;
    default:
      if (sampled) return log::Level::kInfo;
      return std::nullopt;
  }
}

CallObserver::CallObserver(const GrpcServerMetrics* metrics, double access_log_sample_rate)
    : metrics_(metrics), sample_rate_(access_log_sample_rate) {}

const ObservedMethod& CallObserver::ObserveInHandler(absl::string_view service_full_name,
                                                     absl::string_view method_name) {
  const std::string full_name = absl::StrCat(service_full_name, ".", method_name);
  if (google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full_name) == nullptr) {
    log::Error("server calls: no such method in the descriptor pool", {{"method", full_name}});
    std::abort();
  }
  auto [it, inserted] =
      in_handler_.try_emplace(absl::StrCat("/", service_full_name, "/", method_name));
  it->second = Method(it->first);  // the key never moves, so its view stays valid
  return it->second;
}

ObservedMethod CallObserver::Method(absl::string_view path) const {
  return {.path = path,
          .metrics = metrics_ != nullptr ? metrics_->Find(path) : nullptr,
          .sample_rate = sample_rate_};
}

void ObservedCall::StartTrace(const Metadata& client_metadata) {
  // More than one traceparent is ambiguous, so it is treated as none.
  const auto [first, last] = client_metadata.equal_range(kTraceparentKey);
  std::optional<TraceContext> caller;
  if (first != last && std::next(first) == last) {
    caller = ParseTraceparent(absl::string_view(first->second.data(), first->second.size()));
  }
  if (caller.has_value()) {
    parent_ = *caller;
    span_ = NewChildSpan(*caller);
  } else {
    span_ = NewTrace(method_->sample_rate);
  }
}

void ObservedCall::Finish(const grpc::Status& status) const {
  const grpc::StatusCode code = status.error_code();
  const auto elapsed = std::chrono::steady_clock::now() - start_;
  if (const GrpcServerMetrics::Method* metrics = method_->metrics; metrics != nullptr) {
    const auto index = static_cast<std::size_t>(code);
    if (index < metrics->handled.size()) metrics->handled[index]->Increment();
    if (metrics->latency != nullptr) {
      metrics->latency->Observe(std::chrono::duration<double>(elapsed).count());
    }
  }
  const std::optional<log::Level> level = AccessLogLevel(code, span_.sampled());
  if (!level.has_value()) return;
  std::vector<log::Field> fields = {
      {"method", method_->path},
      {"status", StatusCodeName(code)},
      {"duration_ms", std::chrono::duration<double, std::milli>(elapsed).count()},
  };
  const std::string trace_id = TraceIdHex(span_);
  const std::string span_id = SpanIdHex(span_);
  std::string parent_id;
  fields.emplace_back("trace_id", trace_id);
  fields.emplace_back("span_id", span_id);
  if (parent_.has_value()) {
    parent_id = SpanIdHex(*parent_);
    fields.emplace_back("parent_id", parent_id);
  }
  fields.emplace_back("sampled", span_.sampled());
  // Status messages name fields and articles, never a reader id or a token (their validation
  // messages do not quote the value).
  const std::string error = status.error_message();  // a copy: Field holds a view
  if (code != grpc::StatusCode::OK) fields.emplace_back("error", error);
  log::Write(*level, "call", fields);
}

}  // namespace newsroom
