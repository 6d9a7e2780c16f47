#include "common/src/metrics_http_server.h"

#include <httplib.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/src/host_port.h"

namespace newsroom::metrics {

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, absl::string_view flag, const MetricsRegistry* registry) {
  absl::StatusOr<HostPort> host_port = ParseHostPort(address, flag);
  if (!host_port.ok()) return host_port.status();
  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(2); };
  // Prometheus keeps its connection open between scrapes; a short idle timeout frees the worker.
  server->set_keep_alive_timeout(2);
  server->set_read_timeout(5);
  server->set_write_timeout(5);
  server->Get("/metrics", [registry](const httplib::Request&, httplib::Response& response) {
    response.set_content(registry->Render(), kContentType);
  });
  int port = host_port->port;
  bool bound = false;
  if (port == 0) {
    port = server->bind_to_any_port(host_port->host);
    bound = port > 0;
  } else {
    bound = server->bind_to_port(host_port->host, port);
  }
  if (!bound) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address, " (", flag, ")"));
  }
  auto started = std::unique_ptr<MetricsHttpServer>(new MetricsHttpServer(std::move(server), port));
  started->thread_ =
      std::thread([server = started->server_.get()] { server->listen_after_bind(); });
  // stop() before the loop runs would be lost and the destructor's join would hang.
  while (!started->server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return started;
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

MetricsHttpServer::~MetricsHttpServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace newsroom::metrics
