#include "common/src/server_interceptor.h"

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

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
class ServerCallInterceptor final : public grpc::experimental::Interceptor {
 public:
  ServerCallInterceptor(ObservedMethod method, bool check_parse)
      : method_(method), check_parse_(check_parse), call_(method_) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    // The call's first batch; gRPC runs the handler when it proceeds.
    const bool first_batch =
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA);
    if (first_batch) call_.StartTrace(*methods->GetRecvInitialMetadata());
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
      call_.Finish(methods->GetSendStatus());
    }
    if (first_batch) {
      ScopedCallTrace scope(&call_.trace());
      methods->Proceed();
      return;
    }
    methods->Proceed();
  }

 private:
  const ObservedMethod method_;  // before call_, which points to it
  const bool check_parse_;
  ObservedCall call_;
  bool unparsable_ = false;  // set before the handler runs, read after it finishes
};

class ServerCallInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerCallInterceptorFactory(const CallObserver* observer) : observer_(observer) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // gRPC keeps the method's name for the server's life.
    const absl::string_view method = info->method() != nullptr ? info->method() : "";
    if (absl::StartsWith(method, "/grpc.health.v1.Health/")) return nullptr;
    if (observer_->ObservedInHandler(method)) return nullptr;
    // The parse check only for calls whose single request the server parses before the handler;
    // in client and bidi streams a missing message just means the client finished sending.
    using Type = grpc::experimental::ServerRpcInfo::Type;
    const bool check_parse = info->type() == Type::UNARY || info->type() == Type::SERVER_STREAMING;
    return new ServerCallInterceptor(observer_->Method(method), check_parse);
  }

 private:
  const CallObserver* const observer_;
};

}  // namespace

TraceContext CurrentCallTrace() {
  if (current_call_trace != nullptr) return *current_call_trace;
  return NewTrace(0);
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> NewServerInterceptorFactory(
    const CallObserver* observer) {
  return std::make_unique<ServerCallInterceptorFactory>(observer);
}

}  // namespace newsroom
