#pragma once

// Starts the real pair for integration tests: redis-server, analytics-service and content-service,
// each a separate process on a free loopback port, talked to over real gRPC channels.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"
#include "newsroom/content/v1/content_service.grpc.pb.h"
#include "tests/support/process.h"
#include "tests/support/waiting.h"

namespace newsroom::testing {

namespace content_v1 = ::newsroom::content::v1;
namespace analytics_v1 = ::newsroom::analytics::v1;

// TLS files for NewsroomPair (PEM): the CA that signs everything, each service's certificate and
// key (SAN 127.0.0.1), and the client certificate content-service presents to analytics-service.
// Both services then serve TLS only, analytics-service requires a client certificate signed by
// `ca` (mutual TLS), both re-read their files every `refresh_interval`, and each also opens a
// plaintext health port (content_health_port(), analytics_health_port()).
struct PairTls {
  std::string ca;
  std::string analytics_cert;
  std::string analytics_key;
  std::string content_cert;
  std::string content_key;
  std::string client_cert;
  std::string client_key;
  std::string refresh_interval = "1s";
};

// content-service is started with a random editor token (a file in the pair's temp dir), and
// content() calls as an editor: every call on content_channel() carries
// `authorization: Bearer <editor_token()>`, so tests of the write RPCs need not repeat it. A test
// of the token itself opens its own channel to content_address().
class NewsroomPair {
 public:
  // `content_args` are added to content-service's command line (e.g. `--seed=FILE`).
  explicit NewsroomPair(std::vector<std::string> content_args = {});
  // The same over TLS and mutual TLS (see PairTls); the channels below then use TLS too, the
  // analytics one presenting `tls.client_cert`. `content_args` has no default, so that
  // `NewsroomPair({"--flag"})` keeps meaning the constructor above.
  NewsroomPair(PairTls tls, std::vector<std::string> content_args);

  // (Re)starts analytics-service on its previous port (a new one the first time).
  void StartAnalytics();
  void StopAnalytics();
  // Sends `signal_number` to analytics-service (SIGSTOP/SIGCONT make it hang and resume).
  // SIGSTOP returns only once the process is stopped: kill() returns before a thread running on
  // another core has been halted, and a test that then expects a hang must not race it.
  void SignalAnalytics(int signal_number);
  // Sends `signal_number` to content-service (SIGKILL: a crash; StartContent then restarts it).
  void SignalContent(int signal_number) { content_process_->Signal(signal_number); }
  pid_t content_pid() const { return content_process_->pid(); }
  pid_t analytics_pid() const { return analytics_process_->pid(); }
  // (Re)starts content-service with the same database file, on its previous port.
  void StartContent(std::vector<std::string> extra_args = {});
  // Sends SIGTERM and returns content-service's exit code.
  int StopContent();

  RedisServer& redis() { return redis_; }
  content_v1::ContentService::Stub& content() { return *content_stub_; }
  analytics_v1::AnalyticsService::Stub& analytics() { return *analytics_stub_; }
  std::shared_ptr<grpc::Channel> content_channel() { return content_channel_; }
  std::shared_ptr<grpc::Channel> analytics_channel() { return analytics_channel_; }
  const std::string& db_path() const { return db_path_; }
  std::string content_address() const { return "127.0.0.1:" + std::to_string(content_port_); }
  // The token content-service accepts for CreateArticle/UpdateArticle/DeleteArticle, and the file
  // it reads it from (--editor_token_file; rewrite it to rotate the token).
  const std::string& editor_token() const { return editor_token_; }
  const std::string& editor_token_file() const { return editor_token_file_; }
  // The plaintext health-only ports (PairTls only; 0 otherwise).
  int content_health_port() const { return content_health_port_; }
  int analytics_health_port() const { return analytics_health_port_; }
  std::string analytics_address() const { return "127.0.0.1:" + std::to_string(analytics_port_); }
  // The /metrics HTTP ports, when the environment turned metrics on (CONTENT_METRICS_LISTEN,
  // ANALYTICS_METRICS_LISTEN, inherited by the services); 0 otherwise. Each (re)start may move
  // them when the variable asks for port 0.
  int content_metrics_port() const { return content_metrics_port_; }
  int analytics_metrics_port() const { return analytics_metrics_port_; }

 private:
  // Flags that put a service on TLS (dashes for analytics-service, underscores for content).
  std::vector<std::string> AnalyticsTlsArgs() const;
  std::vector<std::string> ContentTlsArgs() const;
  std::shared_ptr<grpc::ChannelCredentials> AnalyticsCredentials() const;
  std::shared_ptr<grpc::ChannelCredentials> ContentCredentials() const;

  std::optional<PairTls> tls_;
  int content_health_port_ = 0;
  int analytics_health_port_ = 0;
  int content_metrics_port_ = 0;
  int analytics_metrics_port_ = 0;
  TempDir dir_;
  RedisServer redis_;
  std::string db_path_;
  std::string editor_token_;
  std::string editor_token_file_;
  int analytics_port_ = 0;
  int content_port_ = 0;
  std::unique_ptr<ChildProcess> analytics_process_;
  std::unique_ptr<ChildProcess> content_process_;
  std::shared_ptr<grpc::Channel> analytics_channel_;
  std::shared_ptr<grpc::Channel> content_channel_;
  std::unique_ptr<analytics_v1::AnalyticsService::Stub> analytics_stub_;
  std::unique_ptr<content_v1::ContentService::Stub> content_stub_;
};

// The health status of `service` ("" for the server) at `channel`: SERVING, NOT_SERVING, or the
// RPC's error code name.
std::string HealthOf(const std::shared_ptr<grpc::Channel>& channel, const std::string& service);

// A valid article with non-ASCII text in every field, ready for CreateArticle.
content_v1::Article SampleArticle(const std::string& title);

// Creates SampleArticle(title) as `id` through `pair`'s content-service (failing the test if it
// is refused) and returns its name.
std::string CreateSampleArticle(NewsroomPair& pair, const std::string& id,
                                const std::string& title);

}  // namespace newsroom::testing
