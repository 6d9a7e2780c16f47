#include "common/src/grpc_server.h"

#include <google/protobuf/stubs/logging.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/support/server_interceptor.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace newsroom {
namespace {

// gRPC channel arguments are ints; an age beyond INT_MAX ms (or infinite) means "never", which is
// gRPC's own default, so the argument is then left out.
void SetDurationArgument(grpc::ServerBuilder& builder, const char* name, absl::Duration duration) {
  const int64_t ms = absl::ToInt64Milliseconds(duration);
  if (ms >= std::numeric_limits<int>::max()) return;
  builder.AddChannelArgument(name, static_cast<int>(std::max<int64_t>(ms, 0)));
}

using grpc::experimental::InterceptionHookPoints;

// One interceptor per call does two jobs, so that metrics add no allocation of their own:
//
// - gRPC 1.51's callback API answers a request it cannot parse (malformed protobuf, or a proto3
//   string field holding invalid UTF-8) with UNIMPLEMENTED and no message, as if the method did
//   not exist. A request without a message after POST_RECV_MESSAGE is exactly that parse failure,
//   so this turns the status the call then sends into INVALID_ARGUMENT saying what went wrong.
// - With metrics, it counts the call under the status code it ends with and, for unary calls,
//   observes the time from its creation (the call's arrival) to its status being sent.
class ServerCallInterceptor final : public grpc::experimental::Interceptor {
 public:
  ServerCallInterceptor(bool check_parse, const GrpcServerMetrics::Method* metrics)
      : check_parse_(check_parse),
        metrics_(metrics),
        start_(metrics != nullptr ? std::chrono::steady_clock::now()
                                  : std::chrono::steady_clock::time_point()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (check_parse_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      unparsable_ = true;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      if (unparsable_) {
        methods->ModifySendStatus(
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "request is not a valid message: malformed protobuf, or a string field "
                         "that is not UTF-8"));
      }
      if (metrics_ != nullptr) Record(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Record(grpc::StatusCode code) {
    const auto index = static_cast<std::size_t>(code);
    if (index < metrics_->handled.size()) metrics_->handled[index]->Increment();
    if (metrics_->latency != nullptr) {
      metrics_->latency->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    }
  }

  const bool check_parse_;
  const GrpcServerMetrics::Method* const metrics_;
  const std::chrono::steady_clock::time_point start_;
  bool unparsable_ = false;  // set before the handler runs, read after it finishes
};

class ServerCallInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerCallInterceptorFactory(const GrpcServerMetrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    // The parse check only for calls whose single request the server parses before the handler;
    // in client and bidi streams a missing message just means the client finished sending.
    using Type = grpc::experimental::ServerRpcInfo::Type;
    const bool check_parse = info->type() == Type::UNARY || info->type() == Type::SERVER_STREAMING;
    const GrpcServerMetrics::Method* method =
        metrics_ != nullptr && info->method() != nullptr ? metrics_->Find(info->method()) : nullptr;
    if (!check_parse && method == nullptr) return nullptr;
    return new ServerCallInterceptor(check_parse, method);
  }

 private:
  const GrpcServerMetrics* const metrics_;
};

// The health port must serve `grpc.health.v1` and nothing else, but every ServerBuilder starts
// with the reflection plugin once InitProtoReflectionServerBuilderPlugin has run; this drops it.
class NoPluginsOption final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->clear();
  }
};

}  // namespace

// A plaintext server with only the default health service (added by gRPC itself, since
// EnableDefaultHealthCheckService is on) and a generic service answering UNIMPLEMENTED.
absl::StatusOr<GrpcServer::HealthPort> GrpcServer::StartHealthPort(const std::string& address) {
  HealthPort health;
  if (address.empty()) return health;
  health.unimplemented = std::make_unique<grpc::CallbackGenericService>();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &health.port);
  builder.SetOption(std::make_unique<NoPluginsOption>());
  builder.RegisterCallbackGenericService(health.unimplemented.get());
  health.server = builder.BuildAndStart();
  if (health.server == nullptr || health.port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address, " (health port)"));
  }
  return health;
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(const GrpcServerOptions& options) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(
      options.listen_address,
      options.credentials != nullptr ? options.credentials : grpc::InsecureServerCredentials(),
      &port);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_concurrent_streams_per_connection);
  SetDurationArgument(builder, GRPC_ARG_MAX_CONNECTION_AGE_MS, options.max_connection_age);
  SetDurationArgument(builder, GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                      options.max_connection_age_grace);
  grpc::ResourceQuota quota("newsroom-server");
  quota.Resize(options.memory_quota_bytes);
  builder.SetResourceQuota(quota);
  for (grpc::Service* service : options.services) builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<ServerCallInterceptorFactory>(options.metrics));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address));
  }
  absl::StatusOr<HealthPort> health = StartHealthPort(options.health_listen_address);
  if (!health.ok()) {
    server->Shutdown();
    return health.status();
  }
  std::vector<std::string> readiness_names{""};
  readiness_names.insert(readiness_names.end(), options.service_names.begin(),
                         options.service_names.end());
  auto started = std::unique_ptr<GrpcServer>(
      new GrpcServer(std::move(server), port, *std::move(health), std::move(readiness_names)));
  // Names other than "" are unknown (NOT_FOUND) until set; a probe must get an answer from start.
  started->SetServing(true);
  for (grpc::HealthCheckServiceInterface* service : started->HealthServices()) {
    service->SetServingStatus(kLivenessService, true);
  }
  return started;
}

GrpcServer::GrpcServer(std::unique_ptr<grpc::Server> server, int port, HealthPort health,
                       std::vector<std::string> readiness_names)
    : server_(std::move(server)),
      port_(port),
      health_(std::move(health)),
      readiness_names_(std::move(readiness_names)) {}

GrpcServer::~GrpcServer() { Shutdown(absl::ZeroDuration()); }

std::vector<grpc::HealthCheckServiceInterface*> GrpcServer::HealthServices() const {
  std::vector<grpc::HealthCheckServiceInterface*> services;
  // The probe port first: at shutdown it turns NOT_SERVING no later than the main port, so anyone
  // told by the main port that the server is stopping finds the probe port agreeing.
  for (grpc::Server* server : {health_.server.get(), server_.get()}) {
    if (server == nullptr) continue;
    if (auto* service = server->GetHealthCheckService(); service != nullptr) {
      services.push_back(service);
    }
  }
  return services;
}

void GrpcServer::SetServing(bool serving) {
  // Name by name: gRPC's SetServingStatus(bool) would set liveness too.
  for (grpc::HealthCheckServiceInterface* service : HealthServices()) {
    for (const std::string& name : readiness_names_) service->SetServingStatus(name, serving);
  }
}

void GrpcServer::Shutdown(absl::Duration drain) {
  if (shut_down_) return;
  shut_down_ = true;
  // Every name NOT_SERVING, liveness included (the process is going away; a probe that sees it
  // need not restart it, the orchestrator is already stopping it), and later updates ignored, so
  // that a late SetServing(true) cannot report a stopping server ready.
  for (grpc::HealthCheckServiceInterface* service : HealthServices()) service->Shutdown();
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(drain));
  server_->Wait();
  if (health_.server != nullptr) {
    health_.server->Shutdown(std::chrono::system_clock::now());  // ends open Watch streams
    health_.server->Wait();
  }
}

namespace {

sigset_t ShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  return signals;
}

// Protobuf logs a line for every request with a string field that is not UTF-8, so a hostile
// client could fill the log at will; those lines are written at powers of two only. The handler is
// a plain function pointer, hence the static counter.
void LogProtobufMessage(google::protobuf::LogLevel level, const char* file, int line,
                        const std::string& message) {
  static std::atomic<std::uint64_t> invalid_utf8{0};
  std::uint64_t count = 0;
  if (message.find("invalid UTF-8") != std::string::npos) {
    count = invalid_utf8.fetch_add(1, std::memory_order_relaxed) + 1;
    if ((count & (count - 1)) != 0) return;
  }
  constexpr const char* kLevels[] = {"INFO", "WARNING", "ERROR", "FATAL"};
  const absl::string_view text = absl::StripTrailingAsciiWhitespace(message);
  std::fprintf(stderr, "[libprotobuf %s %s:%d] %.*s", kLevels[level], file, line,
               static_cast<int>(text.size()), text.data());
  if (count > 0) {
    std::fprintf(stderr, " (%llu such requests so far)", static_cast<unsigned long long>(count));
  }
  std::fputc('\n', stderr);
}

}  // namespace

void PrepareServerProcess() {
  const sigset_t signals = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  google::protobuf::SetLogHandler(&LogProtobufMessage);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

int WaitForShutdownSignal() {
  const sigset_t signals = ShutdownSignals();
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  return signal_number;
}

}  // namespace newsroom
