#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/src/server_call.h"

namespace newsroom {

struct GrpcServerOptions {
  // HOST:PORT; port 0 asks the kernel for a free one (see GrpcServer::port()).
  std::string listen_address;
  // Services to serve (callback or sync); not owned and must outlive the server.
  std::vector<grpc::Service*> services;
  // Their full names (e.g. "newsroom.analytics.v1.AnalyticsService"), under which grpc.health.v1
  // reports readiness as it does under "" (see SetServing).
  std::vector<std::string> service_names;
  // Largest request accepted; bigger ones get RESOURCE_EXHAUSTED before reaching a handler.
  int max_receive_message_bytes = 1 << 20;
  // Credentials of listen_address; null: plaintext. See common/src/tls_credentials.h.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // HOST:PORT of a second, always plaintext, port that serves nothing but `grpc.health.v1` with
  // the main port's status (Kubernetes' gRPC probes cannot do TLS); empty: none.
  std::string health_listen_address;
  // Streams (calls) one client connection may have open at once; more wait in the client.
  int max_concurrent_streams_per_connection = 1000;
  // Memory gRPC may use for its buffers across all calls; under pressure it refuses new calls
  // rather than growing without bound.
  std::size_t memory_quota_bytes = std::size_t{128} << 20;
  // A client connection gets GOAWAY after about this long (gRPC adds +-10% jitter), and its calls
  // in flight then have `max_connection_age_grace` to finish. Clients reconnect and re-resolve the
  // name on GOAWAY, which is how they find replicas added after they connected (a Kubernetes
  // Service balances connections, not calls). Infinite: never (gRPC's default).
  absl::Duration max_connection_age = absl::InfiniteDuration();
  absl::Duration max_connection_age_grace = absl::InfiniteDuration();
  // How calls are observed (trace context, access log, metrics; common/src/server_call.h): the
  // same object the services' handlers observe their own methods' calls with, if any do. Not
  // owned; must outlive the server. Null: a server without metrics whose new traces are sampled
  // at 0.01.
  const CallObserver* call_observer = nullptr;
};

// A started gRPC server with the standard health service (`grpc.health.v1`) and server reflection,
// and optionally a health-only port. The health service answers two questions, on both ports:
// readiness ("" and each service name: may calls be sent here now? see SetServing) and liveness
// (kLivenessService: is the process up and not shutting down? if not, restart it). A dependency
// that is down (Redis) makes a server unready, never unlive: restarting it would not help.
class GrpcServer final {
 public:
  // The grpc.health.v1 service name of liveness: SERVING from start until Shutdown begins.
  static constexpr char kLivenessService[] = "liveness";

  // Builds and starts the server, or returns UNAVAILABLE when an address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options);

  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // The port actually bound.
  [[nodiscard]] int port() const { return port_; }
  // The health port actually bound; 0 when there is none.
  [[nodiscard]] int health_port() const { return health_.port; }

  // Sets readiness: the health status of the server ("") and of every service it serves, on the
  // main port and on the health port. Liveness is left as it is. SERVING from the start.
  void SetServing(bool serving);

  // Reports NOT_SERVING for readiness and liveness alike (for good: later SetServing calls are
  // ignored), stops accepting calls and waits until in-flight calls end or `drain` passes, after
  // which the remaining calls are cancelled. The health port stops last, so probes see
  // NOT_SERVING throughout the drain.
  void Shutdown(absl::Duration drain);

 private:
  // The health-only server and what it needs; all null/0 without a health port.
  struct HealthPort {
    // Answers every method but grpc.health.v1 with UNIMPLEMENTED; it also satisfies gRPC's rule
    // that a server must have some sync or callback method. Outlives `server`.
    std::unique_ptr<grpc::CallbackGenericService> unimplemented;
    std::unique_ptr<grpc::Server> server;
    int port = 0;
  };
  [[nodiscard]] static absl::StatusOr<HealthPort> StartHealthPort(const std::string& address);

  GrpcServer(std::unique_ptr<CallObserver> default_observer, std::unique_ptr<grpc::Server> server,
             int port, HealthPort health, std::vector<std::string> readiness_names);

  // The health services of both ports (one without a health port).
  [[nodiscard]] std::vector<grpc::HealthCheckServiceInterface*> HealthServices() const;

  // The observer of a server started without one; declared first, so that it outlives server_.
  std::unique_ptr<CallObserver> default_observer_;
  std::unique_ptr<grpc::Server> server_;
  int port_;
  HealthPort health_;
  // "" and the service names: the health names that SetServing sets.
  std::vector<std::string> readiness_names_;
  bool shut_down_ = false;
};

// Prepares a server process; call at the top of main, before any thread starts:
// - blocks SIGTERM and SIGINT in this thread and every thread started afterwards, so that
//   WaitForShutdownSignal() receives them;
// - turns off Abseil's mutex deadlock detection, which Debian's Abseil build leaves on and which
//   costs a busy server about 5% of its CPU (a graph update on every lock);
// - sends protobuf's and gRPC core's log lines through common/src/log.h, protobuf's line about a
//   request with invalid UTF-8 at powers of two only;
// - caps glibc's malloc at kServerMallocArenas arenas unless MALLOC_ARENA_MAX says otherwise (see
//   there);
// - on a crash, writes the signal and the crashing thread's stack to stderr before the process
//   dies as it would have (InstallCrashReport in common/src/crash_report.h), so that a crash in
//   production or in a test run says where it happened. `argv0` is main's argv[0].
void PrepareServerProcess(const char* argv0);

// glibc gives a thread that finds every arena locked an arena of its own, up to 8 per core, and
// each arena keeps what was freed in it. gRPC's threads under load thus spread the same work over
// up to 16 arenas on two cores: content-service's peak RSS reached 62 MB against a 64 MB target
// (a load of GetArticle, ListArticles and ReadArticle at 4 x 32 in flight), and 46 MB with 2 arenas
// at no measurable cost in calls/s (docs/performance.md, "Memory"). content-service allocates
// through glibc's malloc; binaries on tcmalloc (common/src/allocator.h) are unaffected by it.
inline constexpr int kServerMallocArenas = 2;

// Waits for SIGTERM or SIGINT and returns its number.
int WaitForShutdownSignal();

// Waits up to `timeout` for SIGTERM or SIGINT; returns its number, or 0 when none came. A signal
// it returns is consumed: the caller is then stopping.
int WaitForShutdownSignalFor(absl::Duration timeout);

}  // namespace newsroom
