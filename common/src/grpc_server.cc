#include "common/src/grpc_server.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/support/server_interceptor.h>
#include <malloc.h>
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/src/crash_report.h"
#include "common/src/log.h"
#include "common/src/server_interceptor.h"

namespace newsroom {
namespace {

// gRPC channel arguments are ints; an age beyond INT_MAX ms (or infinite) means "never", which is
// gRPC's own default, so the argument is then left out.
void SetDurationArgument(grpc::ServerBuilder& builder, const char* name, absl::Duration duration) {
  const int64_t ms = absl::ToInt64Milliseconds(duration);
  if (ms >= std::numeric_limits<int>::max()) return;
  builder.AddChannelArgument(name, static_cast<int>(std::max<int64_t>(ms, 0)));
}

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
  std::unique_ptr<CallObserver> default_observer;
  const CallObserver* observer = options.call_observer;
  if (observer == nullptr) {
    default_observer = std::make_unique<CallObserver>(nullptr, 0.01);
    observer = default_observer.get();
  }
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(NewServerInterceptorFactory(observer));
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
      new GrpcServer(std::move(default_observer), std::move(server), port, *std::move(health),
                     std::move(readiness_names)));
  // Names other than "" are unknown (NOT_FOUND) until set; a probe must get an answer from start.
  started->SetServing(true);
  for (grpc::HealthCheckServiceInterface* service : started->HealthServices()) {
    service->SetServingStatus(kLivenessService, true);
  }
  return started;
}

GrpcServer::GrpcServer(std::unique_ptr<CallObserver> default_observer,
                       std::unique_ptr<grpc::Server> server, int port, HealthPort health,
                       std::vector<std::string> readiness_names)
    : default_observer_(std::move(default_observer)),
      server_(std::move(server)),
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
  const log::Level levels[] = {log::Level::kInfo, log::Level::kWarning, log::Level::kError,
                               log::Level::kError};
  const std::vector<log::Field> fields = {
      {"source", "libprotobuf"}, {"file", file}, {"line", line}, {"such_requests", count}};
  log::Write(levels[std::clamp(static_cast<int>(level), 0, 3)],
             absl::StripTrailingAsciiWhitespace(message),
             absl::MakeConstSpan(fields).first(count > 0 ? 4 : 3));
}

// gRPC core's own lines (gpr_log: connection errors and the like, at GRPC_VERBOSITY, ERROR by
// default), in the same JSON as ours.
void LogGrpcMessage(gpr_log_func_args* args) {
  const log::Level level = args->severity == GPR_LOG_SEVERITY_ERROR  ? log::Level::kError
                           : args->severity == GPR_LOG_SEVERITY_INFO ? log::Level::kInfo
                                                                     : log::Level::kDebug;
  log::Write(level, args->message != nullptr ? args->message : "",
             {{"source", "grpc"},
              {"file", args->file != nullptr ? args->file : ""},
              {"line", args->line}});
}

}  // namespace

void PrepareServerProcess(const char* argv0) {
  const sigset_t signals = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  InstallCrashReport(argv0);
  google::protobuf::SetLogHandler(&LogProtobufMessage);
  gpr_set_log_function(&LogGrpcMessage);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // An operator's MALLOC_ARENA_MAX (which glibc has read by now) is left to stand.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, kServerMallocArenas);
}

int WaitForShutdownSignal() {
  const sigset_t signals = ShutdownSignals();
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  return signal_number;
}

int WaitForShutdownSignalFor(absl::Duration timeout) {
  const sigset_t signals = ShutdownSignals();
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const timespec left = absl::ToTimespec(std::max(deadline - absl::Now(), absl::ZeroDuration()));
    const int signal_number = sigtimedwait(&signals, nullptr, &left);
    if (signal_number > 0) return signal_number;
    // EAGAIN: the time is up. EINTR: another signal (one not blocked) interrupted the wait.
    if (errno != EINTR || absl::Now() >= deadline) return 0;
  }
}

}  // namespace newsroom
