#include "common/src/server_interceptor.h"

#include <chrono>
#include <cstddef>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "common/src/grpc_status.h"

namespace newsroom {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Set only while gRPC runs a handler inside the interceptor (see CurrentCallTrace).
thread_local const TraceContext* current_call_trace = nullptr;

class ScopedCallTrace final {
 public:
  explicit ScopedCallTrace(const TraceContext* trace) : previous_(current_call_trace) {
    current_call_trace = trace;
  }
  ~ScopedCallTrace() { current_call_trace = previous_; }
  ScopedCallTrace(const ScopedCallTrace&) = delete;
  ScopedCallTrace& operator=(const ScopedCallTrace&) = delete;

 private:
  const TraceContext* const previous_;
};

// One interceptor per call does every per-call job, so that each adds no allocation of its own.
// Until the status is sent, nothing but the trace context is computed: an unsampled call that
// ends OK costs a header lookup, a few random bytes and a clock read, and writes nothing.
class ServerCallInterceptor final : public grpc::experimental::Interceptor {
 public:
  ServerCallInterceptor(const char* method, bool check_parse,
                        const GrpcServerMetrics::Method* metrics, double sample_rate)
      : method_(method != nullptr ? method : ""),
        check_parse_(check_parse),
        metrics_(metrics),
        sample_rate_(sample_rate),
        start_(std::chrono::steady_clock::now()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    // The call's first batch; gRPC runs the handler when it proceeds.
    const bool first_batch =
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA);
    if (first_batch) StartTrace(*methods->GetRecvInitialMetadata());
    // gRPC 1.51's callback API answers a request it cannot parse (malformed protobuf, or a proto3
    // string field holding invalid UTF-8) with UNIMPLEMENTED and no message, as if the method did
    // not exist. A request without a message after POST_RECV_MESSAGE is exactly that parse
    // failure, so the status the call then sends becomes INVALID_ARGUMENT saying what went wrong.
    if (check_parse_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      unparsable_ = true;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      if (unparsable_) methods->ModifySendStatus(UnparsableRequestStatus());
      Finished(methods->GetSendStatus());
    }
    if (first_batch) {
      ScopedCallTrace scope(&span_);
      methods->Proceed();
      return;
    }
    methods->Proceed();
  }

 private:
  void StartTrace(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    // More than one traceparent is ambiguous, so it is treated as none.
    const auto [first, last] = metadata.equal_range(kTraceparentKey);
    std::optional<TraceContext> caller;
    if (first != last && std::next(first) == last) {
      caller = ParseTraceparent(absl::string_view(first->second.data(), first->second.size()));
    }
    if (caller.has_value()) {
      parent_ = *caller;
      span_ = NewChildSpan(*caller);
    } else {
      span_ = NewTrace(sample_rate_);
    }
  }

  void Finished(const grpc::Status& status) {
    const grpc::StatusCode code = status.error_code();
    const auto elapsed = std::chrono::steady_clock::now() - start_;
    if (metrics_ != nullptr) {
      const auto index = static_cast<std::size_t>(code);
      if (index < metrics_->handled.size()) metrics_->handled[index]->Increment();
      if (metrics_->latency != nullptr) {
        metrics_->latency->Observe(std::chrono::duration<double>(elapsed).count());
      }
    }
    const std::optional<log::Level> level = AccessLogLevel(code, span_.sampled());
    if (!level.has_value()) return;
    std::vector<log::Field> fields = {
        {"method", method_},
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

  const char* const method_;
  const bool check_parse_;
  const GrpcServerMetrics::Method* const metrics_;
  const double sample_rate_;
  const std::chrono::steady_clock::time_point start_;
  TraceContext span_;                   // this server's span of the call's trace
  std::optional<TraceContext> parent_;  // the caller's, when it sent a valid traceparent
  bool unparsable_ = false;             // set before the handler runs, read after it finishes
};

class ServerCallInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  ServerCallInterceptorFactory(const GrpcServerMetrics* metrics, double sample_rate)
      : metrics_(metrics), sample_rate_(sample_rate) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    if (method != nullptr && absl::StartsWith(method, "/grpc.health.v1.Health/")) return nullptr;
    // The parse check only for calls whose single request the server parses before the handler;
    // in client and bidi streams a missing message just means the client finished sending.
    using Type = grpc::experimental::ServerRpcInfo::Type;
    const bool check_parse = info->type() == Type::UNARY || info->type() == Type::SERVER_STREAMING;
    const GrpcServerMetrics::Method* series =
        metrics_ != nullptr && method != nullptr ? metrics_->Find(method) : nullptr;
    return new ServerCallInterceptor(method, check_parse, series, sample_rate_);
  }

 private:
  const GrpcServerMetrics* const metrics_;
  const double sample_rate_;
};

}  // namespace

grpc::Status UnparsableRequestStatus() {
  return grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT,
      "request is not a valid message: malformed protobuf, or a string field that is not UTF-8");
}

TraceContext CurrentCallTrace() {
  if (current_call_trace != nullptr) return *current_call_trace;
  return NewTrace(0);
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

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewServerInterceptorFactory(
    const GrpcServerMetrics* metrics, double access_log_sample_rate) {
  return std::make_unique<ServerCallInterceptorFactory>(metrics, access_log_sample_rate);
}

}  // namespace newsroom
