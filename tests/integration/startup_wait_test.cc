// A store that is not up when a service starts (a fresh install whose volumes are still being
// provisioned, or a store restarting too): the service keeps trying for --startup-wait and starts
// as soon as the store answers, instead of exiting and leaving Kubernetes to restart it with a
// back-off of up to five minutes. A stop signal meanwhile ends it at once and cleanly.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

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

// analytics-service against `redis_address`, its stderr in `log_path`.
std::unique_ptr<ChildProcess> StartAnalytics(const std::string& redis_address,
                                             const std::string& startup_wait,
                                             const std::string& log_path) {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{build_paths::kAnalyticsService, "--listen=127.0.0.1:0",
                               "--redis=" + redis_address,
                               "--key-prefix=test:", "--startup-wait=" + startup_wait},
      std::vector<std::string>{"READER_HASH_KEY=startup-wait-test-key"}, log_path);
}

// Whether the file at `path` comes to hold `text` within a few seconds.
bool LogShows(const std::string& path, const std::string& text) {
  return Eventually([&] { return ReadFile(path).find(text) != std::string::npos; },
                    std::chrono::seconds(10));
}

TEST(StartupWaitTest, AnalyticsServiceStartsOnceALateRedisAnswers) {
  TempDir dir;
  RedisServer redis(/*append_only=*/false);
  redis.Stop();
  const std::string log = dir.path() + "/analytics.log";
  auto analytics = StartAnalytics(redis.address(), "60s", log);

  ASSERT_TRUE(LogShows(log, kRetryLine)) << ReadFile(log);
  EXPECT_FALSE(analytics->WaitForLine("listening on", std::chrono::milliseconds(500)).has_value())
      << "it served before Redis answered";
  EXPECT_FALSE(analytics->Wait(std::chrono::milliseconds(0)).has_value()) << "it exited";

  redis.Start();
  const auto port = analytics->WaitForPort("listening on", seconds(20));
  ASSERT_TRUE(port.has_value()) << ReadFile(log);
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

TEST(StartupWaitTest, ASignalWhileWaitingStopsAtOnceAndCleanly) {
  TempDir dir;
  RedisServer redis(/*append_only=*/false);
  redis.Stop();
  const std::string log = dir.path() + "/analytics.log";
  auto analytics = StartAnalytics(redis.address(), "60s", log);
  ASSERT_TRUE(LogShows(log, kRetryLine)) << ReadFile(log);

  analytics->Signal(SIGTERM);
  // Pauses between attempts are at most 4 s; a signal must not wait for the next attempt.
  EXPECT_EQ(analytics->Wait(std::chrono::seconds(2)), 0) << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("stopped before starting"), std::string::npos) << ReadFile(log);
}

TEST(StartupWaitTest, WithNoWaitARedisThatDoesNotAnswerStopsTheStart) {
  TempDir dir;
  RedisServer redis(/*append_only=*/false);
  redis.Stop();
  const std::string log = dir.path() + "/analytics.log";
  auto analytics = StartAnalytics(redis.address(), "0s", log);
  const auto exit_code = analytics->Wait(std::chrono::seconds(10));
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_NE(*exit_code, 0);
  EXPECT_NE(ReadFile(log).find("cannot start"), std::string::npos) << ReadFile(log);
  EXPECT_EQ(ReadFile(log).find(kRetryLine), std::string::npos) << ReadFile(log);
}

TEST(StartupWaitTest, ContentServiceStartsOnceALatePostgresAnswers) {
  TempDir dir;
  PostgresServer postgres;
  postgres.Stop();
  const std::string log = dir.path() + "/content.log";
  ChildProcess content(
      {build_paths::kContentService, "--listen=127.0.0.1:0", "--db=" + postgres.Url("newsroom"),
       "--outbox_db=" + dir.path() + "/outbox.db",
       "--analytics=127.0.0.1:" + std::to_string(PickFreePort()), "--startup_wait=60s"},
      {"PGPASSWORD=" + postgres.password()}, log);

  ASSERT_TRUE(LogShows(log, kRetryLine)) << ReadFile(log);
  EXPECT_FALSE(content.Wait(std::chrono::milliseconds(0)).has_value()) << "it exited";

  postgres.Start();
  const auto port = content.WaitForPort("listening on", seconds(30));
  ASSERT_TRUE(port.has_value()) << ReadFile(log);
  auto stub = content_v1::ContentService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(*port), grpc::InsecureChannelCredentials()));
  content_v1::ListArticlesResponse page;
  const grpc::Status status =
      stub->ListArticles(Context().get(), content_v1::ListArticlesRequest(), &page);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace newsroom::testing
