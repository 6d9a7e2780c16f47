// Both services' /metrics scraped over loopback HTTP while the pair serves real calls: the counts
// move exactly as the calls made, and `promtool check metrics` accepts both scrapes.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/integration/pair_fixture.h"
#include "tests/support/metrics_scrape.h"

namespace newsroom::testing {
namespace {

constexpr char kContent[] = "newsroom.content.v1.ContentService";
constexpr char kAnalytics[] = "newsroom.analytics.v1.AnalyticsService";

std::string Handled(const char* service, const char* method, const char* code) {
  return absl::StrCat("grpc_server_handled_total{grpc_service=\"", service, "\",grpc_method=\"",
                      method, "\",grpc_type=\"unary\",grpc_code=\"", code, "\"}");
}

std::string LatencyCount(const char* service, const char* method) {
  return absl::StrCat("grpc_server_handling_seconds_count{grpc_service=\"", service,
                      "\",grpc_method=\"", method, "\",grpc_type=\"unary\"}");
}

// Runs `promtool check metrics` on `scrape`; returns its exit status and output.
std::pair<int, std::string> PromtoolCheck(const std::string& scrape) {
  const std::string path = ::testing::TempDir() + "/scrape.prom";
  std::FILE* file = std::fopen(path.c_str(), "w");
  std::fwrite(scrape.data(), 1, scrape.size(), file);
  std::fclose(file);
  std::FILE* pipe =
      popen((std::string(PROMTOOL_BIN) + " check metrics < " + path + " 2>&1").c_str(), "r");
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  std::remove(path.c_str());
  return {status, output};
}

content_v1::ReadArticleRequest ReadRequest(const std::string& name, int i) {
  content_v1::ReadArticleRequest request;
  request.set_name(name);
  request.set_reader_id(absl::StrCat("reader-", i));
  request.set_read_id(absl::StrCat("read-", name.substr(name.rfind('/') + 1), "-", i));
  return request;
}

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override { StartPair(); }

  void StartPair(std::vector<std::string> content_args = {}) {
    pair_.reset();
    // Through the environment, as the Kubernetes manifests set them; inherited by both services.
    setenv("CONTENT_METRICS_LISTEN", "127.0.0.1:0", 1);
    setenv("ANALYTICS_METRICS_LISTEN", "127.0.0.1:0", 1);
    pair_.emplace(std::move(content_args));
    unsetenv("CONTENT_METRICS_LISTEN");
    unsetenv("ANALYTICS_METRICS_LISTEN");
    ASSERT_NE(pair_->content_metrics_port(), 0);
    ASSERT_NE(pair_->analytics_metrics_port(), 0);
  }

  std::string CreateArticle(const std::string& id) {
    content_v1::CreateArticleRequest request;
    request.set_article_id(id);
    *request.mutable_article() = SampleArticle("Metrics " + id);
    content_v1::Article created;
    const grpc::Status status = pair_->content().CreateArticle(Context().get(), request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created.name();
  }

  std::optional<NewsroomPair> pair_;
};

TEST_F(MetricsTest, CallsReadsAndCodesAreCountedExactlyAndTheScrapesPassPromtool) {
  const std::string name = CreateArticle("metrics-counted");
  constexpr int kReads = 7;
  for (int i = 0; i < kReads; ++i) {
    content_v1::Article article;
    const grpc::Status status =
        pair_->content().ReadArticle(Context().get(), ReadRequest(name, i), &article);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  for (int i = 0; i < 2; ++i) {
    content_v1::Article article;
    EXPECT_EQ(
        pair_->content()
            .ReadArticle(Context().get(), ReadRequest("articles/no-such-article", i), &article)
            .error_code(),
        grpc::StatusCode::NOT_FOUND);
  }
  content_v1::GetArticleRequest bad;
  bad.set_name("not a name");
  content_v1::Article unused;
  EXPECT_EQ(pair_->content().GetArticle(Context().get(), bad, &unused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  const std::string content = ScrapeMetrics(pair_->content_metrics_port());
  EXPECT_EQ(MetricValue(content, Handled(kContent, "ReadArticle", "OK")), kReads);
  EXPECT_EQ(MetricValue(content, Handled(kContent, "ReadArticle", "NotFound")), 2);
  EXPECT_EQ(MetricValue(content, Handled(kContent, "ReadArticle", "Unavailable")), 0);
  EXPECT_EQ(MetricValue(content, Handled(kContent, "GetArticle", "InvalidArgument")), 1);
  EXPECT_EQ(MetricValue(content, Handled(kContent, "CreateArticle", "OK")), 1);
  EXPECT_EQ(MetricValue(content, LatencyCount(kContent, "ReadArticle")), kReads + 2);
  EXPECT_EQ(MetricValue(content, "newsroom_content_reads_queued_total"), 0);
  EXPECT_EQ(MetricValue(content, "newsroom_content_outbox_reads"), 0);
  EXPECT_THAT(content, ::testing::HasSubstr("newsroom_build_info{service=\"content-service\""));

  const std::string analytics = ScrapeMetrics(pair_->analytics_metrics_port());
  EXPECT_EQ(MetricValue(analytics, "newsroom_analytics_reads_total{result=\"recorded\"}"), kReads);
  EXPECT_EQ(MetricValue(analytics, "newsroom_analytics_reads_total{result=\"failed\"}"), 0);
  EXPECT_EQ(MetricValue(analytics, "newsroom_analytics_redis_up"), 1);
  EXPECT_EQ(MetricValue(analytics,
                        "newsroom_analytics_top_article_reads{article_id=\"metrics-counted\"}"),
            kReads);
  EXPECT_GE(MetricValue(analytics, "newsroom_analytics_redis_commands_total").value_or(0), kReads);
  for (const char* kind : {"oom", "noperm", "wrongtype", "other"}) {
    EXPECT_EQ(
        MetricValue(analytics, absl::StrCat("newsroom_analytics_redis_error_replies_total{kind=\"",
                                            kind, "\"}")),
        0)
        << kind;
  }
  // Redis's memory use, read by the health monitor (INFO memory); the test's Redis has no
  // maxmemory, which Redis reports as 0.
  std::string with_memory = analytics;
  EXPECT_TRUE(Eventually([&] {
    with_memory = ScrapeMetrics(pair_->analytics_metrics_port());
    return MetricValue(with_memory, "newsroom_analytics_redis_used_memory_bytes").value_or(0) > 0;
  })) << with_memory;
  EXPECT_EQ(MetricValue(with_memory, "newsroom_analytics_redis_maxmemory_bytes"), 0);

  for (const std::string* scrape : {&content, &analytics}) {
    const auto [status, output] = PromtoolCheck(*scrape);
    EXPECT_EQ(status, 0) << output;
  }
}

TEST_F(MetricsTest, ARetriedReadIsCountedAsADuplicate) {
  const std::string name = CreateArticle("metrics-duplicate");
  // Straight to analytics-service, twice with the same read_id, as content-service's outbox may.
  analytics_v1::RecordReadRequest read;
  read.set_article(name);
  read.set_read_id("same-read");
  for (int i = 0; i < 2; ++i) {
    analytics_v1::ReadStats response;
    const grpc::Status status = pair_->analytics().RecordRead(Context().get(), read, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  const std::string analytics = ScrapeMetrics(pair_->analytics_metrics_port());
  EXPECT_EQ(MetricValue(analytics, "newsroom_analytics_reads_total{result=\"recorded\"}"), 1);
  EXPECT_EQ(MetricValue(analytics, "newsroom_analytics_reads_total{result=\"duplicate\"}"), 1);
  EXPECT_EQ(MetricValue(analytics, Handled(kAnalytics, "RecordRead", "OK")), 2);
}

TEST_F(MetricsTest, ReadsQueuedWhileAnalyticsIsDownAreCountedThenDelivered) {
  const std::string name = CreateArticle("metrics-outbox");
  pair_->StopAnalytics();
  constexpr int kReads = 3;
  for (int i = 0; i < kReads; ++i) {
    content_v1::Article article;
    ASSERT_TRUE(pair_->content().ReadArticle(Context().get(), ReadRequest(name, i), &article).ok());
  }
  std::string content = ScrapeMetrics(pair_->content_metrics_port());
  EXPECT_EQ(MetricValue(content, "newsroom_content_reads_queued_total"), kReads);
  EXPECT_EQ(MetricValue(content, "newsroom_content_outbox_reads"), kReads);
  EXPECT_GT(MetricValue(content, "newsroom_content_outbox_oldest_read_age_seconds").value_or(0), 0);

  setenv("ANALYTICS_METRICS_LISTEN", "127.0.0.1:0", 1);
  pair_->StartAnalytics();
  unsetenv("ANALYTICS_METRICS_LISTEN");
  ASSERT_TRUE(Eventually([&] {
    content = ScrapeMetrics(pair_->content_metrics_port());
    return MetricValue(content, "newsroom_content_outbox_reads") == 0;
  }));
  EXPECT_EQ(MetricValue(content, "newsroom_content_reads_delivered_total"), kReads);
  EXPECT_EQ(MetricValue(content, "newsroom_content_outbox_oldest_read_age_seconds"), 0);
  EXPECT_EQ(MetricValue(content, "newsroom_content_reads_dropped_total{reason=\"full\"}"), 0);
  EXPECT_EQ(MetricValue(ScrapeMetrics(pair_->analytics_metrics_port()),
                        "newsroom_analytics_reads_total{result=\"recorded\"}"),
            kReads);
}

// Calls content-service made to analytics-service for stats (not counting reads), so far.
double StatsCalls(int analytics_metrics_port) {
  const std::string scrape = ScrapeMetrics(analytics_metrics_port);
  return MetricValue(scrape, Handled(kAnalytics, "BatchGetReadStats", "OK")).value_or(-1) +
         MetricValue(scrape, Handled(kAnalytics, "GetReadStats", "OK")).value_or(-1);
}

class StatsFeedTest : public MetricsTest {
 protected:
  int64_t ReadsShown(const std::string& name) {
    content_v1::GetArticleRequest request;
    request.set_name(name);
    content_v1::Article article;
    const grpc::Status status = pair_->content().GetArticle(Context().get(), request, &article);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return article.read_stats().reads();
  }

  // Records a read straight at analytics-service, as another content-service replica would.
  void ReadElsewhere(const std::string& name, int i) {
    analytics_v1::RecordReadRequest request;
    request.set_article(absl::StrCat("articles/", name.substr(name.rfind('/') + 1)));
    request.set_read_id(absl::StrCat("elsewhere-", i));
    analytics_v1::ReadStats stats;
    ASSERT_TRUE(pair_->analytics().RecordRead(Context().get(), request, &stats).ok());
  }

  // Shows the article every 50 ms for `duration` while one read lands elsewhere halfway; returns
  // the stats calls content-service made meanwhile. Every view must show at most 1 s old counts.
  double CallsWhileShowing(const std::string& name, int64_t reads, absl::Duration duration) {
    const double before = StatsCalls(pair_->analytics_metrics_port());
    const absl::Time start = absl::Now();
    absl::Time read_at = absl::InfiniteFuture();
    while (absl::Now() - start < duration) {
      if (read_at == absl::InfiniteFuture() && absl::Now() - start > duration / 2) {
        ReadElsewhere(name, 100);
        read_at = absl::Now();
      }
      const int64_t shown = ReadsShown(name);
      // Stats at most 1 s old (the default --stats_max_age), with 500 ms of slack for this
      // shared machine's scheduling.
      if (absl::Now() - read_at > absl::Milliseconds(1500)) {
        EXPECT_EQ(shown, reads + 1);
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_EQ(ReadsShown(name), reads + 1);
    return StatsCalls(pair_->analytics_metrics_port()) - before;
  }
};

TEST_F(StatsFeedTest, CachedStatsStayCurrentThroughTheChangeFeedWithoutStatsCalls) {
  const std::string name = CreateArticle("feed-a");
  EXPECT_EQ(ReadsShown(name), 0);  // fetched once, then kept current by the feed
  for (int i = 0; i < 3; ++i) ReadElsewhere(name, i);
  EXPECT_TRUE(Eventually([&] { return ReadsShown(name) == 3; }));
  // A refresh asked for before the feed covered the entry may still be on its way.
  absl::SleepFor(absl::Seconds(1));
  // Views of a cached article cost no call to analytics-service however old the entry gets,
  // and a read recorded elsewhere still shows within a second.
  EXPECT_EQ(CallsWhileShowing(name, 3, absl::Seconds(3)), 0);
}

TEST_F(StatsFeedTest, WithoutTheFeedAgingStatsAreRefetched) {
  // The same views with --stats_feed=false: the entry is refreshed every half second. This is
  // what the test above proves the feed saves.
  StartPair({"--stats_feed=false"});
  const std::string name = CreateArticle("feed-b");
  EXPECT_EQ(ReadsShown(name), 0);
  EXPECT_GE(CallsWhileShowing(name, 0, absl::Seconds(3)), 3);
}

}  // namespace
}  // namespace newsroom::testing