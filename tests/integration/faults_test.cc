// What happens when a part of the pair is down or restarts. Each test has its own processes.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>

#include "tests/integration/pair_fixture.h"
#include "tests/support/build_paths.h"

namespace newsroom::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string CreateArticle(NewsroomPair& pair, const std::string& id) {
  return CreateSampleArticle(pair, id, "Fault test " + id);
}

grpc::Status ReadArticle(NewsroomPair& pair, const std::string& name, const std::string& read_id,
                         content_v1::Article* article, milliseconds timeout = milliseconds(5000)) {
  content_v1::ReadArticleRequest request;
  request.set_name(name);
  request.set_reader_id("reader-" + read_id);
  request.set_read_id(read_id);
  return pair.content().ReadArticle(Context(timeout).get(), request, article);
}

std::int64_t ReadsOf(NewsroomPair& pair, const std::string& name) {
  content_v1::GetArticleRequest request;
  request.set_name(name);
  content_v1::Article article;
  if (!pair.content().GetArticle(Context().get(), request, &article).ok()) return -1;
  return article.has_read_stats() ? article.read_stats().reads() : -1;
}

TEST(FaultsTest, ReadsWhileAnalyticsIsDownAreServedThenDeliveredExactly) {
  NewsroomPair pair;
  const std::string name = CreateArticle(pair, "analytics-outage");
  content_v1::Article article;
  ASSERT_TRUE(ReadArticle(pair, name, "before", &article).ok());
  ASSERT_EQ(article.read_stats().reads(), 1);

  pair.StopAnalytics();
  for (int i = 0; i < 20; ++i) {
    const auto started = steady_clock::now();
    content_v1::Article served;
    const auto status =
        ReadArticle(pair, name, "during-" + std::to_string(i), &served, milliseconds(2000));
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(served.name(), name);
    EXPECT_FALSE(served.has_read_stats());  // unknown, not invented
    EXPECT_LT(steady_clock::now() - started, milliseconds(2000));
  }
  // Retrying a read whose first attempt was only queued must still count once.
  content_v1::Article served;
  ASSERT_TRUE(ReadArticle(pair, name, "during-0", &served).ok());

  pair.StartAnalytics();
  // 1 before the outage + 20 during it; the retried "during-0" counts once.
  EXPECT_TRUE(Eventually([&] { return ReadsOf(pair, name) == 21; }))
      << "reads now " << ReadsOf(pair, name);
}

TEST(FaultsTest, AHungAnalyticsServiceCostsAReadNoMoreThanItsBudget) {
  NewsroomPair pair;
  const std::string name = CreateArticle(pair, "analytics-hung");
  content_v1::Article article;
  ASSERT_TRUE(ReadArticle(pair, name, "warm", &article).ok());  // connections are up

  // A stopped process keeps its socket open: calls to it hang instead of failing fast, so only
  // content-service's budget (2 s in these tests) can bring the page back. The caller allows 60 s;
  // a content-service without a budget would make it wait for 54 of them (deadline minus margin).
  pair.SignalAnalytics(SIGSTOP);
  const auto started = steady_clock::now();
  const auto status = ReadArticle(pair, name, "while-hung", &article, milliseconds(60000));
  const auto took = steady_clock::now() - started;
  pair.SignalAnalytics(SIGCONT);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(article.has_read_stats());
  EXPECT_LT(took, milliseconds(20000));
  EXPECT_TRUE(Eventually([&] { return ReadsOf(pair, name) == 2; }));  // delivered afterwards
}

TEST(FaultsTest, RedisOutageMakesAnalyticsNotServingAndItRecoversWithoutRestart) {
  NewsroomPair pair;
  const std::string name = CreateArticle(pair, "redis-outage");
  content_v1::Article article;
  ASSERT_TRUE(ReadArticle(pair, name, "r1", &article).ok());
  constexpr char kService[] = "newsroom.analytics.v1.AnalyticsService";
  ASSERT_EQ(HealthOf(pair.analytics_channel(), ""), "SERVING");
  EXPECT_EQ(HealthOf(pair.analytics_channel(), kService), "SERVING");
  EXPECT_EQ(HealthOf(pair.analytics_channel(), "liveness"), "SERVING");

  pair.redis().Stop();
  EXPECT_TRUE(Eventually([&] { return HealthOf(pair.analytics_channel(), "") == "NOT_SERVING"; }));
  // Not ready, but alive: a restart would not bring Redis back, so liveness stays SERVING.
  EXPECT_EQ(HealthOf(pair.analytics_channel(), kService), "NOT_SERVING");
  EXPECT_EQ(HealthOf(pair.analytics_channel(), "liveness"), "SERVING");
  analytics_v1::RecordReadRequest record;
  record.set_article(name);
  record.set_read_id("direct");
  analytics_v1::ReadStats stats;
  EXPECT_EQ(pair.analytics().RecordRead(Context().get(), record, &stats).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // content-service still serves the article; its read waits in the queue.
  ASSERT_TRUE(ReadArticle(pair, name, "r2", &article).ok());
  EXPECT_FALSE(article.has_read_stats());

  pair.redis().Start();
  EXPECT_TRUE(Eventually([&] { return HealthOf(pair.analytics_channel(), "") == "SERVING"; }));
  EXPECT_EQ(HealthOf(pair.analytics_channel(), kService), "SERVING");
  EXPECT_EQ(HealthOf(pair.analytics_channel(), "liveness"), "SERVING");
  EXPECT_TRUE(pair.analytics().RecordRead(Context().get(), record, &stats).ok());
  EXPECT_TRUE(Eventually([&] { return ReadsOf(pair, name) == 3; }))
      << "reads now " << ReadsOf(pair, name);
}

TEST(FaultsTest, ArticlesAndCountsSurviveARestartOfEachProcess) {
  NewsroomPair pair;
  const std::string name = CreateArticle(pair, "survivor");
  content_v1::Article article;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(ReadArticle(pair, name, "s" + std::to_string(i), &article).ok());

  EXPECT_EQ(pair.StopContent(), 0);  // SIGTERM: drain, then exit 0
  pair.StartContent();
  EXPECT_EQ(ReadsOf(pair, name), 5);

  pair.StopAnalytics();
  pair.StartAnalytics();
  EXPECT_TRUE(Eventually([&] { return ReadsOf(pair, name) == 5; }));

  pair.redis().Stop();
  pair.redis().Start();  // append-only file: every acknowledged count comes back
  EXPECT_TRUE(Eventually([&] { return ReadsOf(pair, name) == 5; }));
  ASSERT_TRUE(ReadArticle(pair, name, "s0", &article).ok());  // still deduplicated
  EXPECT_TRUE(Eventually([&] { return ReadsOf(pair, name) == 5; }));
}

TEST(FaultsTest, QueuedReadsAreDeliveredOnShutdownWhenAnalyticsIsBack) {
  NewsroomPair pair;
  const std::string name = CreateArticle(pair, "flush-on-stop");
  pair.StopAnalytics();
  content_v1::Article article;
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(ReadArticle(pair, name, "q" + std::to_string(i), &article).ok());
  pair.StartAnalytics();
  EXPECT_EQ(pair.StopContent(), 0);
  pair.StartContent();
  EXPECT_TRUE(Eventually([&] { return ReadsOf(pair, name) == 10; }));
}

TEST(FaultsTest, ContentServiceStartsAndServesWhileAnalyticsIsDown) {
  NewsroomPair pair;
  const std::string name = CreateArticle(pair, "cold-start");
  pair.StopAnalytics();
  EXPECT_EQ(pair.StopContent(), 0);
  pair.StartContent();
  EXPECT_EQ(HealthOf(pair.content_channel(), ""), "SERVING");
  content_v1::Article article;
  ASSERT_TRUE(ReadArticle(pair, name, "cold", &article, milliseconds(2000)).ok());
  EXPECT_EQ(article.title(), "Fault test cold-start");
}

TEST(StartupTest, BadFlagsAndUnopenableDatabaseExitNonZeroWithOneLine) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{build_paths::kContentService, "--listen=nonsense"},
        std::vector<std::string>{build_paths::kContentService, "--no-such-flag"},
        std::vector<std::string>{build_paths::kContentService, "--listen=127.0.0.1:0",
                                 "--db=/nonexistent-dir/x/content.db"},
        std::vector<std::string>{build_paths::kContentService, "--listen=127.0.0.1:0",
                                 "--db=:memory:", "--seed=/nonexistent/seed.json"}}) {
    ChildProcess process(args);
    const auto code = process.Wait(std::chrono::seconds(10));
    ASSERT_TRUE(code.has_value()) << args.back();
    EXPECT_NE(*code, 0) << args.back();
  }
}

TEST(StartupTest, FlagsMayBeSpelledWithDashes) {
  // `--editor-token-file` as the issue and Kubernetes manifests spell it, and
  // `--max-in-flight-calls`.
  TempDir dir;
  const std::string token_file = dir.path() + "/token";
  std::ofstream(token_file) << "a-token-of-at-least-16-bytes\n";
  StartedService started =
      StartService(build_paths::kContentService,
                   {"--db=:memory:", "--analytics=127.0.0.1:1", "--editor-token-file=" + token_file,
                    "--max-in-flight-calls=10"});
  EXPECT_GT(started.port, 0);
}

}  // namespace
}  // namespace newsroom::testing
