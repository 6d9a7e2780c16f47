// content-service spreads its calls over every analytics-service address its target resolves to
// (round_robin), and both services close client connections at --max-connection-age, so that
// clients re-resolve and find replicas added later; neither costs a read.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "tests/integration/pair_fixture.h"
#include "tests/support/build_paths.h"

namespace newsroom::testing {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr char kEditorToken[] = "load-balancing-test-editor-token";

StartedService StartAnalytics(const RedisServer& redis, const std::string& key_prefix,
                              std::vector<std::string> env = {}) {
  env.push_back("READER_HASH_KEY=load-balancing-test-key");
  return StartService(build_paths::kAnalyticsService,
                      {"--redis=" + redis.address(), "--key-prefix=" + key_prefix}, env);
}

// The reads analytics-service at `address` has counted for `article`; -1 on error.
std::int64_t ReadsAt(const std::string& address, const std::string& article) {
  auto stub = analytics_v1::AnalyticsService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  analytics_v1::GetReadStatsRequest request;
  request.set_article(article);
  analytics_v1::ReadStats stats;
  if (!stub->GetReadStats(Context().get(), request, &stats).ok()) return -1;
  return stats.reads();
}

// How long a new connection to `address` stays READY, up to `limit`; -1 ms if it never connects.
milliseconds ConnectionLifetime(const std::string& address, milliseconds limit) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  // gRPC takes system_clock deadlines only.
  using SystemClock = std::chrono::system_clock;
  if (!channel->WaitForConnected(SystemClock::now() + std::chrono::seconds(5))) {
    return milliseconds(-1);
  }
  const auto connected = Clock::now();
  const auto deadline = SystemClock::now() + limit;
  while (channel->GetState(false) == GRPC_CHANNEL_READY && SystemClock::now() < deadline) {
    channel->WaitForStateChange(GRPC_CHANNEL_READY, deadline);
  }
  const auto lifetime = std::chrono::duration_cast<milliseconds>(Clock::now() - connected);
  // The channel reconnects by itself for the next call.
  EXPECT_EQ(HealthOf(channel, ""), "SERVING") << address;
  return lifetime;
}

TEST(LoadBalancingTest, ReadsAreSpreadOverEveryAnalyticsAddressAcrossConnectionRecycling) {
  RedisServer redis;
  // Two replicas on one Redis, each counting under its own key prefix: each one's count is the
  // reads sent to it. Their connections are recycled every second meanwhile.
  StartedService first = StartAnalytics(redis, "lb-first:", {"ANALYTICS_MAX_CONNECTION_AGE=1s"});
  StartedService second = StartAnalytics(redis, "lb-second:", {"ANALYTICS_MAX_CONNECTION_AGE=1s"});
  // ipv4: with two addresses stands in for dns:/// resolving a headless Service to two pods.
  StartedService content =
      StartService(build_paths::kContentService,
                   {"--db=:memory:", "--analytics=ipv4:" + first.address() + "," + second.address(),
                    "--analytics_budget=2s"},
                   {std::string("EDITOR_TOKEN=") + kEditorToken});
  auto stub = content_v1::ContentService::NewStub(
      grpc::CreateChannel(content.address(), grpc::InsecureChannelCredentials()));

  content_v1::CreateArticleRequest create;
  create.set_article_id("spread");
  *create.mutable_article() = SampleArticle("Spread over replicas");
  content_v1::Article created;
  auto editor = Context();
  editor->AddMetadata("authorization", std::string("Bearer ") + kEditorToken);
  ASSERT_TRUE(stub->CreateArticle(editor.get(), create, &created).ok());

  constexpr int kReads = 30;
  int with_stats = 0;
  for (int i = 0; i < kReads; ++i) {  // 3 s: each replica's connection is recycled twice or more
    content_v1::ReadArticleRequest read;
    read.set_name(created.name());
    read.set_reader_id("reader-" + std::to_string(i));
    read.set_read_id("read-" + std::to_string(i));
    content_v1::Article article;
    const grpc::Status status = stub->ReadArticle(Context().get(), read, &article);
    ASSERT_TRUE(status.ok()) << status.error_message();
    with_stats += article.has_read_stats() ? 1 : 0;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(with_stats, kReads);  // no read waited for a reconnect past its budget
  EXPECT_TRUE(Eventually([&] {
    return ReadsAt(first.address(), created.name()) + ReadsAt(second.address(), created.name()) ==
           kReads;
  }));
  const std::int64_t at_first = ReadsAt(first.address(), created.name());
  const std::int64_t at_second = ReadsAt(second.address(), created.name());
  EXPECT_GT(at_first, 0);
  EXPECT_GT(at_second, 0);
  std::printf("round_robin: %d reads, %lld to the first replica, %lld to the second\n", kReads,
              static_cast<long long>(at_first), static_cast<long long>(at_second));
}

TEST(LoadBalancingTest, BothServicesCloseConnectionsAtTheirMaxAge) {
  RedisServer redis;
  StartedService analytics = StartAnalytics(redis, "lb-age:", {"ANALYTICS_MAX_CONNECTION_AGE=1s"});
  StartedService content = StartService(build_paths::kContentService,
                                        {"--db=:memory:", "--analytics=" + analytics.address()},
                                        {"CONTENT_MAX_CONNECTION_AGE=1s"});
  StartedService unlimited =  // the default, 5 minutes
      StartService(build_paths::kContentService,
                   {"--db=:memory:", "--analytics=" + analytics.address()});

  const milliseconds limit = std::chrono::seconds(4);
  const milliseconds analytics_lifetime = ConnectionLifetime(analytics.address(), limit);
  const milliseconds content_lifetime = ConnectionLifetime(content.address(), limit);
  // 1 s with gRPC's +-10% jitter, and room for a loaded machine.
  EXPECT_GE(analytics_lifetime.count(), 800);
  EXPECT_LT(analytics_lifetime, std::chrono::seconds(3));
  EXPECT_GE(content_lifetime.count(), 800);
  EXPECT_LT(content_lifetime, std::chrono::seconds(3));
  EXPECT_GE(ConnectionLifetime(unlimited.address(), limit), limit);
  std::printf(
      "max connection age 1s: connections closed after %lld ms (analytics), %lld ms "
      "(content)\n",
      static_cast<long long>(analytics_lifetime.count()),
      static_cast<long long>(content_lifetime.count()));
}

}  // namespace
}  // namespace newsroom::testing
