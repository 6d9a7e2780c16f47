#include "tests/integration/pair_fixture.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/support/client_interceptor.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

#include "common/src/tls_credentials.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/support/build_paths.h"

namespace newsroom::testing {
namespace {

// 128 random bits in hex: a token content-service accepts (at least 16 bytes).
std::string RandomToken() {
  std::random_device random;
  std::string token;
  constexpr char kHex[] = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) token += kHex[random() % 16];
  return token;
}

// The port of a service's "health listening on HOST:PORT" line, printed after its main port's.
int HealthPort(ChildProcess& process) {
  const std::optional<int> port =
      process.WaitForPort("health listening on ", std::chrono::seconds(10));
  if (!port) throw std::runtime_error("no \"health listening on\" line");
  return *port;
}

// The port of a service's "metrics listening on HOST:PORT" line when `env` (its metrics
// variable) is set, else 0.
int MetricsPort(ChildProcess& process, const char* env) {
  const char* value = std::getenv(env);
  if (value == nullptr || *value == '\0') return 0;
  const std::optional<int> port =
      process.WaitForPort("metrics listening on ", std::chrono::seconds(10));
  if (!port) throw std::runtime_error("no \"metrics listening on\" line");
  return *port;
}

void WriteTokenFile(const std::string& path, const std::string& token) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << token << "\n";
  if (chmod(path.c_str(), 0600) != 0) throw std::runtime_error("cannot chmod " + path);
}

// Adds `authorization: Bearer <token>` to every call on the channel.
class EditorTokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit EditorTokenInterceptor(std::string header) : header_(std::move(header)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  const std::string header_;
};

class EditorTokenInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit EditorTokenInterceptorFactory(std::string token) : header_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new EditorTokenInterceptor(header_);
  }

 private:
  const std::string header_;
};

}  // namespace

NewsroomPair::NewsroomPair(std::vector<std::string> content_args)
    : db_path_(dir_.path() + "/content.db"),
      editor_token_(RandomToken()),
      editor_token_file_(dir_.path() + "/editor-token") {
  WriteTokenFile(editor_token_file_, editor_token_);
  // A gRPC client notices that an idle connection was closed by the server only at its next
  // backup poll, every 5 s by default, and a stopping server waits for that (up to its drain
  // deadline). Busy clients poll all the time; tests' idle ones would make every restart take 5 s.
  // Inherited by the services, whose own channels are clients too.
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/0);
  StartAnalytics();
  StartContent(std::move(content_args));
}

NewsroomPair::NewsroomPair(PairTls tls, std::vector<std::string> content_args)
    : tls_(std::move(tls)),
      db_path_(dir_.path() + "/content.db"),
      editor_token_(RandomToken()),
      editor_token_file_(dir_.path() + "/editor-token") {
  WriteTokenFile(editor_token_file_, editor_token_);
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/0);
  StartAnalytics();
  StartContent(std::move(content_args));
}

std::vector<std::string> NewsroomPair::AnalyticsTlsArgs() const {
  if (!tls_) return {};
  return {"--tls-cert-file=" + tls_->analytics_cert, "--tls-key-file=" + tls_->analytics_key,
          "--tls-client-ca-file=" + tls_->ca, "--tls-refresh-interval=" + tls_->refresh_interval,
          "--health-listen=127.0.0.1:0"};
}

std::vector<std::string> NewsroomPair::ContentTlsArgs() const {
  if (!tls_) return {};
  return {"--tls_cert_file=" + tls_->content_cert,
          "--tls_key_file=" + tls_->content_key,
          "--tls_refresh_interval=" + tls_->refresh_interval,
          "--analytics_tls_ca_file=" + tls_->ca,
          "--analytics_tls_cert_file=" + tls_->client_cert,
          "--analytics_tls_key_file=" + tls_->client_key,
          "--health_listen=127.0.0.1:0"};
}

std::shared_ptr<grpc::ChannelCredentials> NewsroomPair::AnalyticsCredentials() const {
  if (!tls_) return grpc::InsecureChannelCredentials();
  return MakeChannelCredentials(
      {.ca_file = tls_->ca, .cert_file = tls_->client_cert, .key_file = tls_->client_key});
}

std::shared_ptr<grpc::ChannelCredentials> NewsroomPair::ContentCredentials() const {
  if (!tls_) return grpc::InsecureChannelCredentials();
  return MakeChannelCredentials({.ca_file = tls_->ca});
}

void NewsroomPair::StartAnalytics() {
  std::vector<std::string> args{"--redis=" + redis_.address(), "--key-prefix=test:"};
  if (analytics_port_ != 0) args.push_back("--listen=127.0.0.1:" + std::to_string(analytics_port_));
  for (auto& arg : AnalyticsTlsArgs()) args.push_back(std::move(arg));
  auto started = StartService(build_paths::kAnalyticsService, std::move(args),
                              {"READER_HASH_KEY=integration-test-key"});
  analytics_process_ = std::move(started.process);
  if (tls_) analytics_health_port_ = HealthPort(*analytics_process_);
  analytics_metrics_port_ = MetricsPort(*analytics_process_, "ANALYTICS_METRICS_LISTEN");
  if (analytics_port_ == 0) {
    analytics_port_ = started.port;
    analytics_channel_ = grpc::CreateChannel(started.address(), AnalyticsCredentials());
    analytics_stub_ = analytics_v1::AnalyticsService::NewStub(analytics_channel_);
  }
}

void NewsroomPair::SignalAnalytics(int signal_number) {
  analytics_process_->Signal(signal_number);
  if (signal_number != SIGSTOP) return;
  const std::string stat_path = "/proc/" + std::to_string(analytics_process_->pid()) + "/stat";
  const bool stopped = Eventually([&] {
    // The state is the field after the parenthesised command name.
    std::ifstream stat(stat_path);
    std::string line;
    std::getline(stat, line);
    const std::size_t close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'T';
  });
  if (!stopped) throw std::runtime_error("analytics-service did not stop on SIGSTOP");
}

void NewsroomPair::StopAnalytics() {
  analytics_process_->Signal(SIGTERM);
  if (analytics_process_->Wait(std::chrono::seconds(15)) != 0) {
    throw std::runtime_error("analytics-service did not exit 0 on SIGTERM");
  }
  analytics_process_.reset();
}

void NewsroomPair::StartContent(std::vector<std::string> extra_args) {
  // A budget far above the default 100 ms: tests that expect stats must not fail because a
  // shared or sanitizer-slowed machine took longer (the hung-analytics test still bounds it).
  std::vector<std::string> args{"--analytics=127.0.0.1:" + std::to_string(analytics_port_),
                                "--db=" + db_path_, "--analytics_budget=2s",
                                "--editor_token_file=" + editor_token_file_};
  if (content_port_ != 0) args.push_back("--listen=127.0.0.1:" + std::to_string(content_port_));
  for (auto& arg : ContentTlsArgs()) args.push_back(std::move(arg));
  for (auto& arg : extra_args) args.push_back(std::move(arg));
  auto started = StartService(build_paths::kContentService, std::move(args));
  content_process_ = std::move(started.process);
  if (tls_) content_health_port_ = HealthPort(*content_process_);
  content_metrics_port_ = MetricsPort(*content_process_, "CONTENT_METRICS_LISTEN");
  if (content_port_ == 0) {
    content_port_ = started.port;
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> editor;
    editor.push_back(std::make_unique<EditorTokenInterceptorFactory>(editor_token_));
    content_channel_ = grpc::experimental::CreateCustomChannelWithInterceptors(
        started.address(), ContentCredentials(), grpc::ChannelArguments(), std::move(editor));
    content_stub_ = content_v1::ContentService::NewStub(content_channel_);
  }
}

int NewsroomPair::StopContent() {
  content_process_->Signal(SIGTERM);
  const auto code = content_process_->Wait(std::chrono::seconds(20));
  content_process_.reset();
  return code.value_or(-1);
}

std::string HealthOf(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status =
      stub->Check(Context(std::chrono::seconds(2)).get(), request, &response);
  if (!status.ok()) return "error " + std::to_string(status.error_code());
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

std::string CreateSampleArticle(NewsroomPair& pair, const std::string& id,
                                const std::string& title) {
  content_v1::CreateArticleRequest request;
  request.set_article_id(id);
  *request.mutable_article() = SampleArticle(title);
  content_v1::Article created;
  const grpc::Status status = pair.content().CreateArticle(Context().get(), request, &created);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return created.name();
}

content_v1::Article SampleArticle(const std::string& title) {
  content_v1::Article article;
  article.set_title(title);
  article.set_subtitle(
      "A standfirst with an apostrophe: the council\xe2\x80\x99s plan, and it's here");
  article.set_body(
      "First paragraph \xf0\x9f\x93\xb0 with an emoji.\n\nSecond paragraph, 11 \xe2\x80\x93 12 "
      "July.\n\n\xd0\x9a\xd0\xb8\xd1\x80\xd0\xb8\xd0\xbb\xd0\xbb\xd0\xb8\xd1\x86\xd0\xb0.");
  article.mutable_lead_image()->set_uri("https://images.example.org/a.jpg");
  article.mutable_lead_image()->set_caption("A caption \xe2\x80\x94 with a dash");
  article.mutable_lead_image()->set_alt_text("Alt text");
  article.mutable_lead_image()->set_credit(
      "\xd0\x90\xd0\xbb\xd0\xb5\xd1\x81\xd1\x8c "
      "\xd0\xa3\xd1\x81\xd1\x86\xd1\x96\xd0\xbd\xd0\xb0\xd1\x9e");
  article.mutable_source()->set_name("L'Osservatorio");
  article.mutable_source()->set_uri("https://source.example.org/story");
  article.add_tags("test");
  article.set_language("en");
  article.add_authors("R\xc3\xa9mi Dupont");
  return article;
}

}  // namespace newsroom::testing
