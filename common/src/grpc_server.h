#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace newsroom {

struct GrpcServerOptions {
  // HOST:PORT; port 0 asks the kernel for a free one (see GrpcServer::port()).
  std::string listen_address;
  // Services to serve (callback or sync); not owned and must outlive the server.
  std::vector<grpc::Service*> services;
  // Largest request accepted; bigger ones get RESOURCE_EXHAUSTED before reaching a handler.
  int max_receive_message_bytes = 1 << 20;
};

// A started gRPC server with the standard health service (`grpc.health.v1`) and server reflection.
class GrpcServer final {
 public:
  // Builds and starts the server, or returns UNAVAILABLE when the address cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerOptions& options);

  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // The port actually bound.
  [[nodiscard]] int port() const { return port_; }

  // Sets the health status of the server ("") and of every service it serves.
  void SetServing(bool serving);

  // Reports NOT_SERVING, stops accepting calls and waits until in-flight calls end or `drain`
  // passes, after which the remaining calls are cancelled.
  void Shutdown(absl::Duration drain);

 private:
  GrpcServer(std::unique_ptr<grpc::Server> server, int port);

  std::unique_ptr<grpc::Server> server_;
  int port_;
  bool shut_down_ = false;
};

// Prepares a server process; call at the top of main, before any thread starts:
// - blocks SIGTERM and SIGINT in this thread and every thread started afterwards, so that
//   WaitForShutdownSignal() receives them;
// - turns off Abseil's mutex deadlock detection, which Debian's Abseil build leaves on and which
//   costs a busy server about 5% of its CPU (a graph update on every lock);
// - logs protobuf's line about a request with invalid UTF-8 at powers of two only.
void PrepareServerProcess();

// Waits for SIGTERM or SIGINT and returns its number.
int WaitForShutdownSignal();

}  // namespace newsroom
