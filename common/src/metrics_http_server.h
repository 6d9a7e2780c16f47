#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "common/src/metrics.h"

namespace httplib {
class Server;
}

namespace newsroom::metrics {

// A plaintext HTTP port (cpp-httplib) that serves `GET /metrics`: the registry in the Prometheus
// text format 0.0.4. Every other path is 404. Two worker threads: scrapes are rare and cheap.
class MetricsHttpServer final {
 public:
  // Listens on `address` (HOST:PORT, `[IPV6]:PORT`; port 0 picks one) and serves `registry`,
  // which is not owned and must outlive the server. Returns UNAVAILABLE when it cannot bind,
  // INVALID_ARGUMENT for a bad address (naming `flag`).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& address, absl::string_view flag, const MetricsRegistry* registry);

  // Stops serving and joins the thread.
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The port actually bound.
  [[nodiscard]] int port() const { return port_; }

 private:
  MetricsHttpServer(std::unique_ptr<httplib::Server> server, int port);

  std::unique_ptr<httplib::Server> server_;
  int port_;
  std::thread thread_;
};

}  // namespace newsroom::metrics
