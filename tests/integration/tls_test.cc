// TLS and mutual TLS over real processes on loopback: who may connect to which port, the health
// port, and certificate reload. Certificates are made in the test (tests/support/test_certs.h).
// Reports the rejection matrix as a figure.

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include "common/src/tls_credentials.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "tests/integration/pair_fixture.h"
#include "tests/support/build_paths.h"
#include "tests/support/test_certs.h"

namespace newsroom::testing {
namespace {

constexpr char kArticle[] = "articles/tls-matrix";

// A channel of its own: a fresh connection (and handshake) rather than one shared with an
// earlier channel through gRPC's global subchannel pool.
std::shared_ptr<grpc::Channel> FreshChannel(const std::string& address,
                                            std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, std::move(credentials), args);
}

// Everything the test needs, made once: two CAs and the certificates they sign, then the pair
// running TLS + mutual TLS with them (files re-read every second).
class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ca_ = new TestCa("Newsroom test CA");
    TestCa other("Another CA");
    ca_->WriteCertificate(Path("ca.pem"));
    other.WriteCertificate(Path("other-ca.pem"));
    ca_->Issue({.common_name = "analytics-service", .serial = 10}, Path("analytics.pem"),
               Path("analytics.key"));
    ca_->Issue({.common_name = "content-service", .serial = 11}, Path("content.pem"),
               Path("content.key"));
    ca_->Issue({.common_name = "content-service client", .server = false, .serial = 12},
               Path("client.pem"), Path("client.key"));
    other.Issue({.common_name = "intruder", .server = false, .serial = 13},
                Path("other-client.pem"), Path("other-client.key"));
    ca_->Issue({.common_name = "expired client",
                .server = false,
                .serial = 14,
                .not_before = -2 * 24 * 3600,
                .not_after = -24 * 3600},
               Path("expired-client.pem"), Path("expired-client.key"));
    pair_ = new NewsroomPair(PairTls{.ca = Path("ca.pem"),
                                     .analytics_cert = Path("analytics.pem"),
                                     .analytics_key = Path("analytics.key"),
                                     .content_cert = Path("content.pem"),
                                     .content_key = Path("content.key"),
                                     .client_cert = Path("client.pem"),
                                     .client_key = Path("client.key"),
                                     .refresh_interval = "1s"},
                             {});
    content_v1::CreateArticleRequest create;
    create.set_article_id("tls-matrix");
    *create.mutable_article() = SampleArticle("Over TLS");
    content_v1::Article created;
    const grpc::Status status = pair_->content().CreateArticle(Context().get(), create, &created);
    if (!status.ok()) std::fprintf(stderr, "CreateArticle: %s\n", status.error_message().c_str());
  }
  static void TearDownTestSuite() {
    delete pair_;
    delete ca_;
    delete dir_;
  }

  static std::string Path(const std::string& name) { return dir_->path() + "/" + name; }

  // Credentials verifying the server with `ca`, presenting `client` (a name prefix: client,
  // other-client, expired-client) when not empty.
  static std::shared_ptr<grpc::ChannelCredentials> Tls(const std::string& ca,
                                                       const std::string& client = "") {
    ClientTlsOptions options{.ca_file = Path(ca)};
    if (!client.empty()) {
      options.cert_file = Path(client + ".pem");
      options.key_file = Path(client + ".key");
    }
    return MakeChannelCredentials(options);
  }

  // Records one read at analytics-service with `credentials`; returns the call's status.
  static grpc::Status RecordRead(std::shared_ptr<grpc::ChannelCredentials> credentials,
                                 const std::string& read_id) {
    auto stub = analytics_v1::AnalyticsService::NewStub(
        FreshChannel(pair_->analytics_address(), std::move(credentials)));
    analytics_v1::RecordReadRequest request;
    request.set_article(kArticle);
    request.set_read_id(read_id);
    analytics_v1::ReadStats stats;
    return stub->RecordRead(Context(std::chrono::seconds(3)).get(), request, &stats);
  }

  // GetArticle at content-service with `credentials`.
  static grpc::Status GetArticle(std::shared_ptr<grpc::ChannelCredentials> credentials,
                                 std::string* peer_certificate = nullptr) {
    auto stub = content_v1::ContentService::NewStub(
        FreshChannel(pair_->content_address(), std::move(credentials)));
    content_v1::GetArticleRequest request;
    request.set_name(kArticle);
    content_v1::Article article;
    auto context = Context(std::chrono::seconds(3));
    const grpc::Status status = stub->GetArticle(context.get(), request, &article);
    if (peer_certificate != nullptr && status.ok()) {
      const auto values = context->auth_context()->FindPropertyValues("x509_pem_cert");
      if (!values.empty()) *peer_certificate = std::string(values[0].data(), values[0].size());
    }
    return status;
  }

  // All-time reads of kArticle, asked with the trusted client certificate.
  static int64_t Reads() {
    analytics_v1::GetReadStatsRequest request;
    request.set_article(kArticle);
    analytics_v1::ReadStats stats;
    const grpc::Status status = pair_->analytics().GetReadStats(Context().get(), request, &stats);
    return status.ok() ? stats.reads() : -1;
  }

  static TempDir* dir_;
  static TestCa* ca_;
  static NewsroomPair* pair_;
};

TempDir* TlsTest::dir_ = nullptr;
TestCa* TlsTest::ca_ = nullptr;
NewsroomPair* TlsTest::pair_ = nullptr;

TEST_F(TlsTest, OnlyTrustedCallersGetThrough) {
  const int64_t reads_before = Reads();
  ASSERT_GE(reads_before, 0);
  const struct {
    std::string name;
    std::function<grpc::Status()> call;
    grpc::StatusCode expected;
  } cases[] = {
      {"analytics, plaintext", [] { return RecordRead(grpc::InsecureChannelCredentials(), "m1"); },
       grpc::StatusCode::UNAVAILABLE},
      {"analytics, TLS without a client certificate",
       [] { return RecordRead(Tls("ca.pem"), "m2"); }, grpc::StatusCode::UNAVAILABLE},
      {"analytics, client certificate from another CA",
       [] { return RecordRead(Tls("ca.pem", "other-client"), "m3"); },
       grpc::StatusCode::UNAVAILABLE},
      {"analytics, expired client certificate",
       [] { return RecordRead(Tls("ca.pem", "expired-client"), "m4"); },
       grpc::StatusCode::UNAVAILABLE},
      {"analytics, client verifying with the wrong CA",
       [] { return RecordRead(Tls("other-ca.pem", "client"), "m5"); },
       grpc::StatusCode::UNAVAILABLE},
      {"analytics, trusted client certificate",
       [] { return RecordRead(Tls("ca.pem", "client"), "m6"); }, grpc::StatusCode::OK},
      {"content, plaintext", [] { return GetArticle(grpc::InsecureChannelCredentials()); },
       grpc::StatusCode::UNAVAILABLE},
      {"content, client verifying with the wrong CA",
       [] { return GetArticle(Tls("other-ca.pem")); }, grpc::StatusCode::UNAVAILABLE},
      {"content, TLS with the right CA", [] { return GetArticle(Tls("ca.pem")); },
       grpc::StatusCode::OK},
  };
  int as_expected = 0;
  for (const auto& c : cases) {
    const grpc::Status status = c.call();
    const bool ok = status.error_code() == c.expected;
    as_expected += ok ? 1 : 0;
    EXPECT_TRUE(ok) << c.name << ": got " << status.error_code() << " " << status.error_message();
    std::printf("  %-50s %s%s\n", c.name.c_str(), status.ok() ? "OK" : "refused",
                ok ? "" : "  (NOT as expected)");
  }
  // Only the trusted caller's read was counted.
  EXPECT_EQ(Reads(), reads_before + 1);
  std::printf("tls rejection matrix: %zu cases, %d as expected; reads counted %lld (expected 1)\n",
              std::size(cases), as_expected, static_cast<long long>(Reads() - reads_before));
}

TEST_F(TlsTest, ThePairWorksEndToEndOverTlsAndMutualTls) {
  content_v1::ReadArticleRequest request;
  request.set_name(kArticle);
  request.set_reader_id("tls-reader");
  content_v1::Article article;
  const int64_t before = Reads();
  ASSERT_TRUE(pair_->content().ReadArticle(Context().get(), request, &article).ok());
  // read_stats is set only when content-service reached analytics-service, over mutual TLS.
  ASSERT_TRUE(article.has_read_stats());
  EXPECT_EQ(article.read_stats().reads(), before + 1);
}

TEST_F(TlsTest, TheCliTalksTlsWithTlsCa) {
  const auto run = [](std::vector<std::string> flags) {
    std::vector<std::string> argv{build_paths::kCli, "--addr=" + pair_->content_address()};
    for (auto& flag : flags) argv.push_back(std::move(flag));
    argv.push_back("stats");
    argv.push_back("tls-matrix");
    ChildProcess process(argv, {"NEWSROOM_TLS_CA="});
    return process.Wait(std::chrono::seconds(20)).value_or(-1);
  };
  EXPECT_EQ(run({"--tls-ca=" + Path("ca.pem")}), 0);
  EXPECT_EQ(run({}), 1);                                        // plaintext: UNAVAILABLE
  EXPECT_EQ(run({"--tls-ca=" + Path("other-ca.pem")}), 1);      // cannot verify the server
  EXPECT_EQ(run({"--tls-ca=" + Path("no-such-file.pem")}), 2);  // usage error, names the flag
}

// A unary call to `method` on the plaintext port `port`; returns its status code.
grpc::StatusCode CallOnHealthPort(int port, const std::string& method) {
  grpc::GenericStub stub(
      FreshChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::Slice empty_message("");  // an empty protobuf message, valid for any request type
  grpc::ByteBuffer request(&empty_message, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  auto context = Context(std::chrono::seconds(3));
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get().error_code();
}

TEST_F(TlsTest, HealthPortsAnswerPlaintextHealthAndNothingElse) {
  const auto health = [](int port) {
    return FreshChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  };
  ASSERT_NE(pair_->content_health_port(), 0);
  ASSERT_NE(pair_->analytics_health_port(), 0);
  EXPECT_EQ(HealthOf(health(pair_->content_health_port()), ""), "SERVING");
  EXPECT_EQ(HealthOf(health(pair_->analytics_health_port()), ""), "SERVING");
  // Readiness under each service's name too, and liveness, as on the main ports.
  EXPECT_EQ(HealthOf(health(pair_->content_health_port()), "newsroom.content.v1.ContentService"),
            "SERVING");
  EXPECT_EQ(
      HealthOf(health(pair_->analytics_health_port()), "newsroom.analytics.v1.AnalyticsService"),
      "SERVING");
  EXPECT_EQ(HealthOf(health(pair_->content_health_port()), "liveness"), "SERVING");
  EXPECT_EQ(HealthOf(health(pair_->analytics_health_port()), "liveness"), "SERVING");
  for (int port : {pair_->content_health_port(), pair_->analytics_health_port()}) {
    for (const char* method : {"/newsroom.content.v1.ContentService/GetArticle",
                               "/newsroom.analytics.v1.AnalyticsService/RecordRead",
                               "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}) {
      EXPECT_EQ(CallOnHealthPort(port, method), grpc::StatusCode::UNIMPLEMENTED)
          << method << " on port " << port;
    }
  }
  // The main ports keep their health service, over TLS.
  EXPECT_EQ(HealthOf(pair_->content_channel(), ""), "SERVING");
  EXPECT_EQ(HealthOf(pair_->analytics_channel(), ""), "SERVING");
  EXPECT_EQ(HealthOf(pair_->content_channel(), "liveness"), "SERVING");
  EXPECT_EQ(HealthOf(pair_->analytics_channel(), "liveness"), "SERVING");
}

TEST_F(TlsTest, AnalyticsHealthPortFollowsRedisForReadinessOnly) {
  const auto health = [](const std::string& service) {
    return HealthOf(FreshChannel("127.0.0.1:" + std::to_string(pair_->analytics_health_port()),
                                 grpc::InsecureChannelCredentials()),
                    service);
  };
  pair_->redis().Stop();
  EXPECT_TRUE(Eventually([&] { return health("") == "NOT_SERVING"; }));
  EXPECT_EQ(health("liveness"), "SERVING");  // a liveness probe must not restart it for Redis
  pair_->redis().Start();
  EXPECT_TRUE(Eventually([&] { return health("") == "SERVING"; }));
  EXPECT_EQ(health("liveness"), "SERVING");
}

TEST_F(TlsTest, NewConnectionsSeeARotatedCertificateWithinTheRefreshInterval) {
  std::string before;
  ASSERT_TRUE(GetArticle(Tls("ca.pem"), &before).ok());
  ASSERT_EQ(CertificateCommonName(before), "content-service");

  // A new certificate from the same CA, written beside the old one and renamed over it, as a
  // deployment (or a Kubernetes secret volume) would.
  ca_->Issue({.common_name = "content-service rotated", .serial = 21}, Path("new.pem"),
             Path("new.key"));
  const auto rotated_at = std::chrono::steady_clock::now();
  std::filesystem::rename(Path("new.key"), Path("content.key"));
  std::filesystem::rename(Path("new.pem"), Path("content.pem"));

  std::string after;
  // Refresh interval 1 s; gRPC compares files at one-second mtime resolution, so allow a second
  // pass and some scheduling slack.
  const bool rotated = Eventually(
      [&] {
        return GetArticle(Tls("ca.pem"), &after).ok() &&
               CertificateCommonName(after) == "content-service rotated";
      },
      std::chrono::seconds(4));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - rotated_at);
  EXPECT_TRUE(rotated) << "still served: " << CertificateCommonName(after);
  EXPECT_EQ(CertificateSerial(after), "21");
  std::printf(
      "tls reload: new certificate served to new connections after %lld ms "
      "(refresh interval 1 s)\n",
      static_cast<long long>(took.count()));
}

TEST_F(TlsTest, AnalyticsShutdownReportsReadinessAndLivenessNotServing) {
  // An open Watch on the main port is a call in flight: analytics-service keeps draining (and its
  // health port answering) until the Watch ends.
  auto watch_stub = grpc::health::v1::Health::NewStub(pair_->analytics_channel());
  grpc::ClientContext watch_context;
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("liveness");
  auto watch = watch_stub->Watch(&watch_context, request);
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  pair_->SignalAnalytics(SIGTERM);
  ASSERT_TRUE(watch->Read(&response));
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  const auto health = [](const std::string& service) {
    return HealthOf(FreshChannel("127.0.0.1:" + std::to_string(pair_->analytics_health_port()),
                                 grpc::InsecureChannelCredentials()),
                    service);
  };
  EXPECT_EQ(health(""), "NOT_SERVING");
  EXPECT_EQ(health("liveness"), "NOT_SERVING");
  watch_context.TryCancel();
  pair_->StopAnalytics();  // exits 0 once the Watch is gone
  pair_->StartAnalytics();
  // Leave the pair as the next test needs it: content-service connected to analytics-service
  // again (a read served with its stats), not still backing off from the restart.
  EXPECT_TRUE(Eventually([] {
    content_v1::ReadArticleRequest read;
    read.set_name(kArticle);
    content_v1::Article article;
    return pair_->content().ReadArticle(Context().get(), read, &article).ok() &&
           article.has_read_stats();
  }));
}

TEST_F(TlsTest, ShutdownReportsNotServingOnTheHealthPortFirst) {
  // A read in flight while analytics-service hangs keeps content-service draining for its
  // analytics budget (2 s in the fixture), long enough to probe the health port meanwhile.
  pair_->SignalAnalytics(SIGSTOP);
  auto read = std::async(std::launch::async, [] {
    content_v1::ReadArticleRequest request;
    request.set_name(kArticle);
    content_v1::Article article;
    return pair_->content().ReadArticle(Context().get(), request, &article);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const int port = pair_->content_health_port();
  auto content_exit = std::async(std::launch::async, [] { return pair_->StopContent(); });
  const auto health = [port](const std::string& service) {
    return HealthOf(
        FreshChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()),
        service);
  };
  // Liveness too: the process is on its way out.
  const bool saw_not_serving =
      Eventually([&] { return health("") == "NOT_SERVING" && health("liveness") == "NOT_SERVING"; },
                 std::chrono::seconds(2));
  pair_->SignalAnalytics(SIGCONT);
  EXPECT_TRUE(saw_not_serving);
  EXPECT_TRUE(read.get().ok());  // served without stats: in-flight calls finish
  EXPECT_EQ(content_exit.get(), 0);
}

}  // namespace
}  // namespace newsroom::testing
