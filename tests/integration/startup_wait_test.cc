// A store that is not up when a service starts (a fresh install whose volumes are still being
// provisioned, or a store restarting too): the service keeps trying for --startup-wait and starts
// as soon as the store answers, instead of exiting and leaving Kubernetes to restart it with a
// back-off of up to five minutes. A stop signal meanwhile ends it at once and cleanly.

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"
#include "newsroom/content/v1/content_service.grpc.pb.h"
#include "tests/integration/pair_fixture.h"
#include "tests/support/build_paths.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace newsroom::testing {
namespace {

using std::chrono::seconds;

constexpr char kRetryLine[] = "not answering at start; retrying";

// Keeps a stopped store's port on 127.0.0.1 taken (bound, not listening: connections to it are
// refused, as to a store that is down), so that no other test's server takes it meanwhile: the
// store must come back on the port the service keeps dialling.
class PortHold {
 public:
  explicit PortHold(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    const int on = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    held_ = bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~PortHold() { Release(); }
  PortHold(const PortHold&) = delete;
  PortHold& operator=(const PortHold&) = delete;

  bool held() const { return held_; }
  void Release() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
  bool held_ = false;
};

// Whether the file at `path` comes to hold `text` within a few seconds.
bool LogShows(const std::string& path, const std::string& text) {
  return Eventually([&] { return ReadFile(path).find(text) != std::string::npos; },
                    std::chrono::seconds(10));
}

// analytics-service started against a Redis that is down (its port known, nothing listening).
class AnalyticsWithoutRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    redis_.Stop();
    port_hold_ = std::make_unique<PortHold>(redis_.port());
    ASSERT_TRUE(port_hold_->held());
  }

  // Starts Redis again, on the port the service dials.
  void StartRedis() {
    const std::string address = redis_.address();
    port_hold_.reset();
    redis_.Start();
    ASSERT_EQ(redis_.address(), address) << "Redis came back on another port";
  }

  // Starts analytics-service with --startup-wait=`wait`, its stderr in log().
  std::unique_ptr<ChildProcess> StartAnalytics(const std::string& wait) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{build_paths::kAnalyticsService, "--listen=127.0.0.1:0",
                                 "--redis=" + redis_.address(),
                                 "--key-prefix=test:", "--startup-wait=" + wait},
        std::vector<std::string>{"READER_HASH_KEY=startup-wait-test-key"}, log_path_);
  }
  std::string log() const { return ReadFile(log_path_); }

  TempDir dir_;
  RedisServer redis_{/*append_only=*/false};
  std::unique_ptr<PortHold> port_hold_;
  const std::string log_path_ = dir_.path() + "/analytics.log";
};

TEST_F(AnalyticsWithoutRedisTest, ItStartsOnceALateRedisAnswers) {
  auto analytics = StartAnalytics("60s");
  ASSERT_TRUE(LogShows(log_path_, kRetryLine)) << log();
  EXPECT_FALSE(analytics->WaitForLine("listening on", std::chrono::milliseconds(500)).has_value())
      << "it served before Redis answered";
  EXPECT_FALSE(analytics->Wait(std::chrono::milliseconds(0)).has_value()) << "it exited";

  StartRedis();
  const auto port = analytics->WaitForPort("listening on", seconds(20));
  ASSERT_TRUE(port.has_value()) << log();
  auto stub = analytics_v1::AnalyticsService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(*port), grpc::InsecureChannelCredentials()));
  analytics_v1::RecordReadRequest read;
  read.set_article("articles/late-redis");
  read.set_read_id("first");
  analytics_v1::ReadStats stats;
  const grpc::Status status = stub->RecordRead(Context().get(), read, &stats);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(stats.reads(), 1);
}

TEST_F(AnalyticsWithoutRedisTest, ASignalWhileWaitingStopsItAtOnceAndCleanly) {
  auto analytics = StartAnalytics("60s");
  // The fifth failed attempt starts a 4 s pause: a signal must end it, not wait for it.
  ASSERT_TRUE(LogShows(log_path_, "\"attempts\":5")) << log();
  analytics->Signal(SIGTERM);
  EXPECT_EQ(analytics->Wait(std::chrono::seconds(2)), 0) << log();
  EXPECT_NE(log().find("stopped before starting"), std::string::npos) << log();
}

TEST_F(AnalyticsWithoutRedisTest, WithNoWaitItsStartFailsAtOnce) {
  auto analytics = StartAnalytics("0s");
  const auto exit_code = analytics->Wait(std::chrono::seconds(10));
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_NE(*exit_code, 0);
  EXPECT_NE(log().find("cannot start"), std::string::npos) << log();
  EXPECT_EQ(log().find(kRetryLine), std::string::npos) << log();
}

// content-service with its articles in `postgres`, waiting up to 60 s for it, giving `password`;
// its outbox in `dir`, its stderr in `log_path`.
std::unique_ptr<ChildProcess> StartContent(const PostgresServer& postgres, const TempDir& dir,
                                           const std::string& password,
                                           const std::string& log_path) {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{
          build_paths::kContentService, "--listen=127.0.0.1:0", "--db=" + postgres.Url("newsroom"),
          "--outbox_db=" + dir.path() + "/outbox.db",
          "--analytics=127.0.0.1:" + std::to_string(PickFreePort()), "--startup_wait=60s"},
      std::vector<std::string>{"PGPASSWORD=" + password}, log_path);
}

TEST(StartupWaitTest, ContentServiceStartsOnceALatePostgresAnswers) {
  TempDir dir;
  PostgresServer postgres;
  postgres.Stop();
  PortHold port_hold(postgres.port());
  ASSERT_TRUE(port_hold.held());
  const std::string log = dir.path() + "/content.log";
  auto content = StartContent(postgres, dir, postgres.password(), log);

  ASSERT_TRUE(LogShows(log, kRetryLine)) << ReadFile(log);
  EXPECT_FALSE(content->Wait(std::chrono::milliseconds(0)).has_value()) << "it exited";

  const int postgres_port = postgres.port();
  port_hold.Release();
  postgres.Start();
  ASSERT_EQ(postgres.port(), postgres_port) << "PostgreSQL came back on another port";
  const auto port = content->WaitForPort("listening on", seconds(30));
  ASSERT_TRUE(port.has_value()) << ReadFile(log);
  auto stub = content_v1::ContentService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(*port), grpc::InsecureChannelCredentials()));
  content_v1::ListArticlesResponse page;
  const grpc::Status status =
      stub->ListArticles(Context().get(), content_v1::ListArticlesRequest(), &page);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// A database that answered and refused the service (a wrong password) is not waited for: waiting
// would only delay the error line that names it.
TEST(StartupWaitTest, ContentServiceDoesNotWaitForADatabaseThatRefusedIt) {
  TempDir dir;
  PostgresServer postgres;
  const std::string log = dir.path() + "/content.log";
  auto content = StartContent(postgres, dir, "not-" + postgres.password(), log);
  const auto exit_code = content->Wait(std::chrono::seconds(20));
  ASSERT_TRUE(exit_code.has_value()) << ReadFile(log);
  EXPECT_EQ(*exit_code, 1);
  EXPECT_NE(ReadFile(log).find("password authentication failed"), std::string::npos)
      << ReadFile(log);
  EXPECT_EQ(ReadFile(log).find(kRetryLine), std::string::npos) << ReadFile(log);
}

}  // namespace
}  // namespace newsroom::testing
