// analytics-service end to end: the real binary, a real redis-server, real gRPC channels.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"
#include "tests/support/build_paths.h"
#include "tests/support/dedup_markers.h"
#include "tests/support/process.h"
#include "tests/support/waiting.h"

namespace newsroom::analytics {
namespace {

namespace v1 = ::newsroom::analytics::v1;
using ::grpc::health::v1::HealthCheckResponse;
using ::newsroom::testing::ChildProcess;
using ::newsroom::testing::Context;
using ::newsroom::testing::Eventually;
using ::newsroom::testing::FindDedupMarker;
using ::newsroom::testing::FoundDedupMarker;
using ::newsroom::testing::ReadFile;
using ::newsroom::testing::RedisServer;
using ::newsroom::testing::StartedService;
using ::newsroom::testing::StartService;
using ::newsroom::testing::TempDir;

const char* const kBinary = newsroom::testing::build_paths::kAnalyticsService;

v1::RecordReadRequest Read(const std::string& article, const std::string& read_id,
                           const std::string& reader = "") {
  v1::RecordReadRequest request;
  request.set_article("articles/" + article);
  request.set_read_id(read_id);
  request.set_reader_id(reader);
  return request;
}

void SetReadTime(v1::RecordReadRequest& request, absl::Time time) {
  request.mutable_read_time()->set_seconds(absl::ToUnixSeconds(time));
}

class AnalyticsServiceIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { StartAnalytics(); }

  void StartAnalytics(std::vector<std::string> env = {"READER_HASH_KEY=integration-test-key"},
                      const std::string& stderr_path = "") {
    service_ = StartService(kBinary,
                            {"--redis=" + redis_.address(), "--health-check-interval=50ms",
                             "--redis-timeout=500ms", "--shutdown-drain=5s"},
                            std::move(env), stderr_path);
    auto channel = grpc::CreateChannel(service_.address(), grpc::InsecureChannelCredentials());
    stub_ = v1::AnalyticsService::NewStub(channel);
    health_ = grpc::health::v1::Health::NewStub(channel);
  }

  // Stops the service with SIGTERM and returns its exit code (-1 when it did not exit).
  int StopAnalytics() {
    // gRPC's server shutdown waits for connected clients to hang up (or the drain to pass), so
    // close ours first to keep the test fast.
    stub_.reset();
    health_.reset();
    service_.process->Signal(SIGTERM);
    return service_.process->Wait(std::chrono::seconds(10)).value_or(-1);
  }

  grpc::Status Record(const v1::RecordReadRequest& request, v1::ReadStats* stats = nullptr) {
    v1::ReadStats ignored;
    return stub_->RecordRead(Context().get(), request, stats != nullptr ? stats : &ignored);
  }

  v1::ReadStats Stats(const std::string& article) {
    v1::GetReadStatsRequest request;
    request.set_article("articles/" + article);
    v1::ReadStats stats;
    const grpc::Status status = stub_->GetReadStats(Context().get(), request, &stats);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return stats;
  }

  // Every article of a listing, following next_page_token, as "id=reads".
  std::vector<std::string> Top(v1::Period period, int page_size = 0) {
    std::vector<std::string> result;
    v1::ListTopArticlesRequest request;
    request.set_period(period);
    request.set_page_size(page_size);
    for (int pages = 0; pages < 1000; ++pages) {
      v1::ListTopArticlesResponse response;
      const grpc::Status status = stub_->ListTopArticles(Context().get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      if (page_size > 0) {
        EXPECT_LE(response.articles_size(), page_size);
      }
      for (const auto& article : response.articles()) {
        result.push_back(absl::StrCat(article.article().substr(9), "=", article.reads()));
      }
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return result;
  }

  HealthCheckResponse::ServingStatus Health() {
    grpc::health::v1::HealthCheckRequest request;
    HealthCheckResponse response;
    auto context = Context();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    if (!health_->Check(context.get(), request, &response).ok())
      return HealthCheckResponse::UNKNOWN;
    return response.status();
  }

  RedisServer redis_;
  StartedService service_;
  std::unique_ptr<v1::AnalyticsService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

TEST_F(AnalyticsServiceIntegrationTest, ConcurrentReadsAreCountedExactly) {
  constexpr int kClients = 8;
  constexpr int kReadsPerClient = 150;
  std::atomic<int> failures = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      // One channel per client, so the calls really arrive concurrently.
      auto stub = v1::AnalyticsService::NewStub(
          grpc::CreateChannel(service_.address(), grpc::InsecureChannelCredentials()));
      for (int i = 0; i < kReadsPerClient; ++i) {
        v1::ReadStats stats;
        const auto request = Read(i % 2 == 0 ? "even" : "odd", absl::StrCat("c", c, "-", i));
        if (!stub->RecordRead(Context().get(), request, &stats).ok()) ++failures;
      }
    });
  }
  for (std::thread& client : clients) client.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(Stats("even").reads(), kClients * kReadsPerClient / 2);
  EXPECT_EQ(Stats("odd").reads(), kClients * kReadsPerClient / 2);
  EXPECT_EQ(Stats("even").unique_readers(), 0);  // no reader ids given
}

TEST_F(AnalyticsServiceIntegrationTest, UniqueReadersAreWithinHyperLogLogError) {
  constexpr int kReaders = 2000;
  const auto record_batch = [&](const std::function<v1::RecordReadRequest(int)>& read) {
    v1::BatchRecordReadsRequest request;
    for (int i = 0; i < 1000; ++i) *request.add_requests() = read(i);
    v1::BatchRecordReadsResponse response;
    ASSERT_TRUE(stub_->BatchRecordReads(Context().get(), request, &response).ok());
    ASSERT_EQ(response.stats_size(), 1000);
  };
  for (int batch = 0; batch < kReaders / 1000; ++batch) {
    record_batch([&](int i) {
      const int reader = batch * 1000 + i;
      return Read("popular", absl::StrCat("r", reader), absl::StrCat("reader-", reader));
    });
  }
  // Half of the readers read again (new read ids): still as many distinct readers.
  record_batch([](int i) {
    return Read("popular", absl::StrCat("again", i), absl::StrCat("reader-", 2 * i));
  });
  const v1::ReadStats stats = Stats("popular");
  EXPECT_EQ(stats.reads(), kReaders + kReaders / 2);
  EXPECT_NEAR(static_cast<double>(stats.unique_readers()), kReaders, kReaders * 0.03);
}

TEST_F(AnalyticsServiceIntegrationTest, RepeatedReadIdCountsOnce) {
  v1::ReadStats first;
  v1::ReadStats retry;
  ASSERT_TRUE(Record(Read("a", "read-1", "alice"), &first).ok());
  ASSERT_TRUE(Record(Read("a", "read-1", "bob"), &retry).ok());
  EXPECT_EQ(first.reads(), 1);
  EXPECT_EQ(retry.reads(), 1);
  EXPECT_EQ(retry.unique_readers(), 1);  // the retry's reader was not added either

  // The same read id on another article is another read.
  ASSERT_TRUE(Record(Read("b", "read-1")).ok());
  EXPECT_EQ(Stats("b").reads(), 1);

  // Within one batch, and against earlier reads.
  v1::BatchRecordReadsRequest batch;
  *batch.add_requests() = Read("a", "read-2");
  *batch.add_requests() = Read("a", "read-2");
  *batch.add_requests() = Read("a", "read-1");
  *batch.add_requests() = Read("a", "read-3");
  v1::BatchRecordReadsResponse response;
  ASSERT_TRUE(stub_->BatchRecordReads(Context().get(), batch, &response).ok());
  ASSERT_EQ(response.stats_size(), 4);
  EXPECT_EQ(response.stats(0).reads(), 2);
  EXPECT_EQ(response.stats(1).reads(), 2);
  EXPECT_EQ(response.stats(2).reads(), 2);
  EXPECT_EQ(response.stats(3).reads(), 3);
  EXPECT_EQ(response.stats(3).article(), "articles/a");
  EXPECT_EQ(Stats("a").reads(), 3);
  EXPECT_EQ(Top(v1::PERIOD_ALL_TIME), (std::vector<std::string>{"a=3", "b=1"}));
}

TEST_F(AnalyticsServiceIntegrationTest, ReadingStatsDoesNotCount) {
  ASSERT_TRUE(Record(Read("a", "1", "x")).ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Stats("a").reads(), 1);

  v1::BatchGetReadStatsRequest request;
  for (const char* article : {"articles/never", "articles/a", "articles/never", "articles/a"}) {
    request.add_articles(article);
  }
  v1::BatchGetReadStatsResponse response;
  ASSERT_TRUE(stub_->BatchGetReadStats(Context().get(), request, &response).ok());
  ASSERT_EQ(response.stats_size(), 4);
  EXPECT_EQ(response.stats(0).article(), "articles/never");
  EXPECT_EQ(response.stats(0).reads(), 0);
  EXPECT_EQ(response.stats(0).unique_readers(), 0);
  EXPECT_EQ(response.stats(1).article(), "articles/a");
  EXPECT_EQ(response.stats(1).reads(), 1);
  EXPECT_EQ(response.stats(1).unique_readers(), 1);
  EXPECT_EQ(response.stats(3).reads(), 1);
  EXPECT_EQ(Stats("a").reads(), 1);
  EXPECT_EQ(Top(v1::PERIOD_ALL_TIME), std::vector<std::string>{"a=1"});
}

TEST_F(AnalyticsServiceIntegrationTest, RanksByReadsThenByNameDescending) {
  const std::vector<std::pair<std::string, int>> reads = {{"b", 2}, {"a", 3}, {"c", 2}, {"d", 1}};
  v1::BatchRecordReadsRequest batch;
  for (const auto& [article, count] : reads) {
    for (int i = 0; i < count; ++i) *batch.add_requests() = Read(article, absl::StrCat(i));
  }
  v1::BatchRecordReadsResponse response;
  ASSERT_TRUE(stub_->BatchRecordReads(Context().get(), batch, &response).ok());
  const std::vector<std::string> expected = {"a=3", "c=2", "b=2", "d=1"};
  EXPECT_EQ(Top(v1::PERIOD_ALL_TIME), expected);
  EXPECT_EQ(Top(v1::PERIOD_UNSPECIFIED), expected);
  EXPECT_EQ(Top(v1::PERIOD_LAST_DAY), expected);
  EXPECT_EQ(Top(v1::PERIOD_LAST_7_DAYS), expected);
  EXPECT_EQ(Top(v1::PERIOD_LAST_30_DAYS), expected);
}

TEST_F(AnalyticsServiceIntegrationTest, PeriodsCountReadsByTheirReadTime) {
  // Noon UTC of past days, so the test does not depend on the time of day it runs at.
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  const auto days_ago = [&](int days) {
    return absl::FromCivil(today - days, absl::UTCTimeZone()) + absl::Hours(12);
  };
  const struct {
    std::string article;
    int days_ago;  // -1: no read_time (now)
    int reads;
  } cases[] = {{"today", -1, 1},
               {"three-days", 3, 2},
               {"ten-days", 10, 3},
               {"forty-days", 40, 4},
               {"six-days", 6, 1}};
  v1::BatchRecordReadsRequest batch;
  for (const auto& c : cases) {
    for (int i = 0; i < c.reads; ++i) {
      v1::RecordReadRequest read = Read(c.article, absl::StrCat(i));
      if (c.days_ago >= 0) SetReadTime(read, days_ago(c.days_ago));
      *batch.add_requests() = read;
    }
  }
  v1::BatchRecordReadsResponse response;
  ASSERT_TRUE(stub_->BatchRecordReads(Context().get(), batch, &response).ok());
  // Also across days: one more read of "three-days" today.
  ASSERT_TRUE(Record(Read("three-days", "later")).ok());

  EXPECT_EQ(Top(v1::PERIOD_LAST_DAY), (std::vector<std::string>{"today=1", "three-days=1"}));
  EXPECT_EQ(Top(v1::PERIOD_LAST_7_DAYS),
            (std::vector<std::string>{"three-days=3", "today=1", "six-days=1"}));
  EXPECT_EQ(Top(v1::PERIOD_LAST_30_DAYS),
            (std::vector<std::string>{"three-days=3", "ten-days=3", "today=1", "six-days=1"}));
  EXPECT_EQ(Top(v1::PERIOD_ALL_TIME),
            (std::vector<std::string>{"forty-days=4", "three-days=3", "ten-days=3", "today=1",
                                      "six-days=1"}));
  EXPECT_EQ(Stats("forty-days").reads(), 4);
}

TEST_F(AnalyticsServiceIntegrationTest, PagesThroughEveryPeriodWithTokens) {
  v1::BatchRecordReadsRequest batch;
  std::vector<std::string> expected;
  for (int article = 25; article >= 1; --article) {  // article k has k reads
    for (int i = 0; i < article; ++i) {
      *batch.add_requests() = Read(absl::StrCat("art-", article), absl::StrCat(i));
    }
    expected.push_back(absl::StrCat("art-", article, "=", article));
  }
  v1::BatchRecordReadsResponse response;
  ASSERT_TRUE(stub_->BatchRecordReads(Context().get(), batch, &response).ok());
  for (v1::Period period : {v1::PERIOD_ALL_TIME, v1::PERIOD_LAST_DAY, v1::PERIOD_LAST_30_DAYS}) {
    EXPECT_EQ(Top(period, 10), expected) << period;
    EXPECT_EQ(Top(period, 1), expected) << period;
    EXPECT_EQ(Top(period, 25), expected) << period;
    EXPECT_EQ(Top(period, 5000), expected) << period;
  }
  EXPECT_EQ(Top(v1::PERIOD_LAST_7_DAYS).size(), 25u);  // default page size 10

  // The first page of a default-size listing has 10 entries and a token.
  v1::ListTopArticlesRequest request;
  v1::ListTopArticlesResponse page;
  ASSERT_TRUE(stub_->ListTopArticles(Context().get(), request, &page).ok());
  EXPECT_EQ(page.articles_size(), 10);
  ASSERT_FALSE(page.next_page_token().empty());

  // A token is bound to its period; a forged one is rejected.
  request.set_period(v1::PERIOD_LAST_7_DAYS);
  request.set_page_token(page.next_page_token());
  grpc::Status status = stub_->ListTopArticles(Context().get(), request, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("page_token: ", 0), 0u) << status.error_message();
  request.set_page_token("djE6MToxMA-forged");
  status = stub_->ListTopArticles(Context().get(), request, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  request.clear_page_token();
  request.set_page_size(-1);
  status = stub_->ListTopArticles(Context().get(), request, &page);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(AnalyticsServiceIntegrationTest, InvalidRequestsNameTheField) {
  v1::RecordReadRequest read = Read("a", "bad id");
  grpc::Status status = Record(read);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("read_id: ", 0), 0u) << status.error_message();

  read = Read("a", "ok");
  SetReadTime(read, absl::Now() + absl::Minutes(10));
  status = Record(read);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("read_time: ", 0), 0u) << status.error_message();

  v1::BatchRecordReadsRequest batch;
  *batch.add_requests() = Read("a", "1");
  *batch.add_requests() = Read("A", "2");
  v1::BatchRecordReadsResponse response;
  status = stub_->BatchRecordReads(Context().get(), batch, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("requests[1].article: ", 0), 0u) << status.error_message();
  EXPECT_EQ(Stats("a").reads(), 0);  // nothing of the rejected batch was recorded
}

TEST_F(AnalyticsServiceIntegrationTest, ReportsRedisOutagesAndRecoversByItself) {
  ASSERT_TRUE(Record(Read("a", "before")).ok());
  EXPECT_TRUE(Eventually([&] { return Health() == HealthCheckResponse::SERVING; }));

  redis_.Stop();
  EXPECT_TRUE(Eventually([&] { return Health() == HealthCheckResponse::NOT_SERVING; }));
  const grpc::Status status = Record(Read("a", "during"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message().find("127.0.0.1"), std::string::npos)
      << "no internal detail: " << status.error_message();
  v1::GetReadStatsRequest get;
  get.set_article("articles/a");
  v1::ReadStats stats;
  EXPECT_EQ(stub_->GetReadStats(Context().get(), get, &stats).error_code(),
            grpc::StatusCode::UNAVAILABLE);

  redis_.Start();
  EXPECT_TRUE(Eventually([&] { return Health() == HealthCheckResponse::SERVING; }));
  EXPECT_TRUE(Eventually([&] { return Record(Read("a", "after")).ok(); }));
  EXPECT_EQ(Stats("a").reads(), 2);  // AOF kept "before"; "during" never counted
  EXPECT_EQ(Top(v1::PERIOD_LAST_7_DAYS), std::vector<std::string>{"a=2"});  // scripts reloaded
}

TEST_F(AnalyticsServiceIntegrationTest, CountsSurviveARestartAndSigtermExitsZero) {
  ASSERT_TRUE(Record(Read("a", "1", "alice")).ok());
  ASSERT_TRUE(Record(Read("a", "2", "bob")).ok());
  EXPECT_EQ(StopAnalytics(), 0);

  StartAnalytics();
  const v1::ReadStats stats = Stats("a");
  EXPECT_EQ(stats.reads(), 2);
  EXPECT_EQ(stats.unique_readers(), 2);
  ASSERT_TRUE(Record(Read("a", "1", "alice")).ok());  // still a duplicate after the restart
  EXPECT_EQ(Stats("a").reads(), 2);
  EXPECT_EQ(StopAnalytics(), 0);
}

TEST_F(AnalyticsServiceIntegrationTest, GeneratedReaderHashKeyIsSharedAcrossRestarts) {
  EXPECT_EQ(StopAnalytics(), 0);
  StartAnalytics({});  // no READER_HASH_KEY: the service creates one in Redis
  ASSERT_TRUE(Record(Read("a", "1", "alice")).ok());
  EXPECT_EQ(StopAnalytics(), 0);
  StartAnalytics({});
  v1::ReadStats stats;
  ASSERT_TRUE(Record(Read("a", "2", "alice"), &stats).ok());
  EXPECT_EQ(stats.reads(), 2);
  EXPECT_EQ(stats.unique_readers(), 1);  // same key, same hash
}

// Runs one command on `redis` and returns the reply's strings (array elements, or the one string
// or integer).
std::vector<std::string> RedisStrings(const RedisServer& redis, std::vector<std::string> argv) {
  redisContext* context = redisConnect("127.0.0.1", redis.port());
  EXPECT_TRUE(context != nullptr && context->err == 0);
  std::vector<const char*> args;
  std::vector<size_t> lengths;
  for (const std::string& arg : argv) {
    args.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(args.size()), args.data(), lengths.data()));
  std::vector<std::string> result;
  if (reply != nullptr) {
    if (reply->type == REDIS_REPLY_ARRAY) {
      for (size_t i = 0; i < reply->elements; ++i) {
        result.emplace_back(reply->element[i]->str, reply->element[i]->len);
      }
    } else if (reply->type == REDIS_REPLY_INTEGER) {
      result.push_back(std::to_string(reply->integer));
    } else if (reply->str != nullptr) {
      result.emplace_back(reply->str, reply->len);
    }
    freeReplyObject(reply);
  }
  redisFree(context);
  return result;
}

// A Redis at maxmemory (noeviction) refuses the read script: reads fail UNAVAILABLE, so callers
// retry or queue them, none is half-counted, health stays SERVING (Redis answers PING), and the
// OOM replies are logged at powers of two, not once per read.
TEST_F(AnalyticsServiceIntegrationTest, AFullRedisRefusesReadsAsUnavailableWithoutFloodingTheLog) {
  ASSERT_EQ(StopAnalytics(), 0);
  TempDir dir;
  const std::string log_path = dir.path() + "/analytics.log";
  StartAnalytics({"READER_HASH_KEY=integration-test-key"}, log_path);
  ASSERT_TRUE(Record(Read("a", "before")).ok());
  ASSERT_EQ(RedisStrings(redis_, {"CONFIG", "SET", "maxmemory", "1"}),
            std::vector<std::string>{"OK"});
  constexpr int kRefused = 40;
  for (int i = 0; i < kRefused; ++i) {
    EXPECT_EQ(Record(Read("a", absl::StrCat("full-", i))).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  EXPECT_EQ(Health(), HealthCheckResponse::SERVING);
  ASSERT_EQ(RedisStrings(redis_, {"CONFIG", "SET", "maxmemory", "0"}),
            std::vector<std::string>{"OK"});
  ASSERT_TRUE(Record(Read("a", "after")).ok());
  EXPECT_EQ(Stats("a").reads(), 2);

  int oom_lines = 0;
  for (absl::string_view line : absl::StrSplit(ReadFile(log_path), '\n')) {
    if (absl::StrContains(line, "Redis replied with an error") && absl::StrContains(line, "OOM")) {
      ++oom_lines;
    }
  }
  // The 1st, 2nd, 4th, 8th, 16th and 32nd of 40; a few more should the 40 take over a minute
  // (each minute starts over), never one a read.
  EXPECT_GE(oom_lines, 6) << ReadFile(log_path);
  EXPECT_LE(oom_lines, 12) << ReadFile(log_path);
}

TEST_F(AnalyticsServiceIntegrationTest, ReloadsScriptsAfterScriptFlush) {
  ASSERT_TRUE(Record(Read("a", "1")).ok());
  RedisStrings(redis_, {"SCRIPT", "FLUSH"});
  for (int i = 2; i <= 5; ++i) ASSERT_TRUE(Record(Read("a", absl::StrCat(i))).ok());
  EXPECT_EQ(Stats("a").reads(), 5);
  RedisStrings(redis_, {"SCRIPT", "FLUSH"});
  EXPECT_EQ(Top(v1::PERIOD_LAST_30_DAYS), std::vector<std::string>{"a=5"});
}

TEST_F(AnalyticsServiceIntegrationTest, DedupMarkersAndDayRankingsExpire) {
  const absl::Time read_time = absl::Now() - absl::Hours(24 * 3);
  v1::RecordReadRequest read = Read("a", "expiring");
  SetReadTime(read, read_time);
  ASSERT_TRUE(Record(read).ok());

  // The dedup marker is a field of a hash of the slot (48 h, the default window) current when the
  // read was recorded, not at its read_time: this slot or, should the test straddle a slot's end,
  // the one before. The hash expires at the end of the slot after its own.
  constexpr int64_t kWindow = 172800;
  const std::optional<FoundDedupMarker> marker = FindDedupMarker(
      [this](const std::vector<std::string>& argv) {
        const std::vector<std::string> reply = RedisStrings(redis_, argv);
        return reply.empty() ? std::string() : reply.front();
      },
      "newsroom:", kWindow, absl::Now(), "a", "expiring");
  ASSERT_TRUE(marker.has_value()) << "no dedup marker for the read";
  EXPECT_EQ(std::stoll(RedisStrings(redis_, {"EXPIRETIME", marker->address.key}).at(0)),
            (marker->slot + 2) * kWindow)
      << marker->address.key;

  // The day's ranking expires 32 days after that UTC day starts (EXPIRETIME: Redis 7).
  const absl::CivilDay day = absl::ToCivilDay(read_time, absl::UTCTimeZone());
  const std::string day_key = absl::StrCat("newsroom:top:day:", absl::FormatCivilTime(day));
  const long long expire_at = std::stoll(RedisStrings(redis_, {"EXPIRETIME", day_key}).at(0));
  EXPECT_EQ(expire_at, absl::ToUnixSeconds(absl::FromCivil(day + 32, absl::UTCTimeZone())));

  // Totals and the all-time ranking never expire.
  EXPECT_EQ(RedisStrings(redis_, {"TTL", "newsroom:reads:a"}), std::vector<std::string>{"-1"});
}

TEST_F(AnalyticsServiceIntegrationTest, StoresNoReaderIdAndOnlyPrefixedKeys) {
  ASSERT_TRUE(Record(Read("a", "1", "alice@example.com")).ok());
  ASSERT_TRUE(Record(Read("a", "2")).ok());
  const std::vector<std::string> keys = RedisStrings(redis_, {"KEYS", "*"});
  EXPECT_FALSE(keys.empty());
  for (const std::string& key : keys) {
    EXPECT_EQ(key.rfind("newsroom:", 0), 0u) << key;
    EXPECT_EQ(key.find("alice"), std::string::npos) << key;
  }
  EXPECT_EQ(RedisStrings(redis_, {"TYPE", "newsroom:readers:a"}),
            std::vector<std::string>{"string"});  // a HyperLogLog
  EXPECT_EQ(RedisStrings(redis_, {"GET", "newsroom:readers:a"}).at(0).find("alice"),
            std::string::npos);
}

// One WatchReadStatsChanges stream read on a thread of its own: the latest stats seen per
// article, the messages received and, once it ended, its status.
class ChangeStream {
 public:
  explicit ChangeStream(v1::AnalyticsService::Stub* stub) {
    reader_ = stub->WatchReadStatsChanges(&context_, v1::WatchReadStatsChangesRequest());
    thread_ = std::thread([this] {
      v1::WatchReadStatsChangesResponse response;
      while (reader_->Read(&response)) {
        absl::MutexLock lock(&mu_);
        ++messages_;
        for (const v1::ReadStats& stats : response.stats()) {
          int64_t& reads = reads_[stats.article().substr(9)];
          EXPECT_GE(stats.reads(), reads) << "counts only grow: " << stats.article();
          reads = stats.reads();
          readers_[stats.article().substr(9)] = stats.unique_readers();
        }
      }
      const grpc::Status status = reader_->Finish();
      absl::MutexLock lock(&mu_);
      end_ = status;
    });
  }
  ~ChangeStream() {
    context_.TryCancel();
    thread_.join();
  }

  int messages() {
    absl::MutexLock lock(&mu_);
    return messages_;
  }
  // "a=2 b=1", sorted by article.
  std::string Reads() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> entries;
    for (const auto& [article, reads] : reads_)
      entries.push_back(absl::StrCat(article, "=", reads));
    std::sort(entries.begin(), entries.end());
    return absl::StrJoin(entries, " ");
  }
  std::optional<grpc::Status> end() {
    absl::MutexLock lock(&mu_);
    return end_;
  }
  // The unique readers last seen for `article` (-1: none yet).
  int64_t Readers(const std::string& article) {
    absl::MutexLock lock(&mu_);
    const auto it = readers_.find(article);
    return it == readers_.end() ? -1 : it->second;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::WatchReadStatsChangesResponse>> reader_;
  absl::Mutex mu_;
  int messages_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, int64_t> reads_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> readers_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> end_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class ChangeFeedTest : public AnalyticsServiceIntegrationTest {
 protected:
  void SetUp() override { StartAnalytics({"ANALYTICS_CHANGES_INTERVAL=50ms"}); }
};

TEST_F(ChangeFeedTest, ReportsEveryChangeFromEveryReplicaAndBeatsWhenQuiet) {
  ChangeStream stream(stub_.get());
  ASSERT_TRUE(Eventually([&] { return stream.messages() >= 1; }));
  // A second replica on the same Redis: its reads reach this replica's stream too.
  StartedService other =
      StartService(kBinary, {"--redis=" + redis_.address(), "--shutdown-drain=1s"});
  auto other_stub = v1::AnalyticsService::NewStub(
      grpc::CreateChannel(other.address(), grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(Record(Read("a", "1")).ok());
  ASSERT_TRUE(Record(Read("a", "2")).ok());
  ASSERT_TRUE(Record(Read("a", "2")).ok());  // a duplicate changes nothing
  ASSERT_TRUE(Record(Read("b", "1")).ok());
  v1::ReadStats ignored;
  ASSERT_TRUE(other_stub->RecordRead(Context().get(), Read("c", "1"), &ignored).ok());
  EXPECT_TRUE(Eventually([&] { return stream.Reads() == "a=2 b=1 c=1"; })) << stream.Reads();

  // Nothing changes now, yet messages keep coming (a quiet stream is not a broken one).
  const int before = stream.messages();
  EXPECT_TRUE(Eventually([&] { return stream.messages() >= before + 5; }));
  EXPECT_EQ(stream.Reads(), "a=2 b=1 c=1");
  EXPECT_FALSE(stream.end().has_value());
}

// An article of 1000 readers or more has its readers counted at most once a second, and reads and
// the change feed's fetches meanwhile return the count kept from before them. Once the article has
// been quiet that long, the stream gets its current count: not the one kept before its last reads.
TEST_F(ChangeFeedTest, AQuietArticleIsSentItsCurrentReadersOnceItsKeptCountIsOld) {
  ChangeStream stream(stub_.get());
  ASSERT_TRUE(Eventually([&] { return stream.messages() >= 1; }));
  // 3000 readers and reads straight into Redis: a popular article's dense HyperLogLog.
  RedisStrings(redis_,
               {"EVAL", "for i = 1, 3000 do redis.call('PFADD', KEYS[1], 'earlier-' .. i) end", "1",
                "newsroom:readers:big"});
  RedisStrings(redis_, {"SET", "newsroom:reads:big", "3000"});
  // New readers in quick succession: the first read's count is kept, and the others return it.
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(Record(Read("big", absl::StrCat("r", i), absl::StrCat("reader-", i))).ok());
  }
  const int64_t counted =
      std::stoll(RedisStrings(redis_, {"PFCOUNT", "newsroom:readers:big"}).at(0));
  EXPECT_TRUE(Eventually([&] { return stream.Readers("big") == counted; }, std::chrono::seconds(5)))
      << stream.Readers("big") << " sent, " << counted << " counted";
  EXPECT_EQ(stream.Reads(), "big=3050");
}

TEST_F(ChangeFeedTest, EndsUnavailableWhenRedisLosesDataOrGoesAway) {
  {
    ChangeStream stream(stub_.get());
    ASSERT_TRUE(Eventually([&] { return stream.messages() >= 1; }));
    ASSERT_TRUE(Record(Read("a", "1")).ok());
    ASSERT_TRUE(Eventually([&] { return stream.Reads() == "a=1"; }));
    // The log went back: what changed in between cannot be told, so the caller must start over.
    RedisStrings(redis_, {"FLUSHALL"});
    ASSERT_TRUE(Eventually([&] { return stream.end().has_value(); }));
    EXPECT_EQ(stream.end()->error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  {
    // A log replaced behind the reader's back (a restart without persistence followed by as many
    // reads as before) is told apart by its id even though its head did not go back.
    ChangeStream stream(stub_.get());
    ASSERT_TRUE(Eventually([&] { return stream.messages() >= 1; }));
    RedisStrings(redis_, {"SET", "newsroom:changes:id", "another-log"});
    ASSERT_TRUE(Eventually([&] { return stream.end().has_value(); }));
    EXPECT_EQ(stream.end()->error_code(), grpc::StatusCode::UNAVAILABLE);
  }
  {
    ChangeStream stream(stub_.get());  // a new stream starts from the log's new head
    ASSERT_TRUE(Eventually([&] { return stream.messages() >= 1; }));
    ASSERT_TRUE(Record(Read("b", "1")).ok());
    ASSERT_TRUE(Eventually([&] { return stream.Reads() == "b=1"; })) << stream.Reads();
    redis_.Stop();
    ASSERT_TRUE(Eventually([&] { return stream.end().has_value(); }));
    EXPECT_EQ(stream.end()->error_code(), grpc::StatusCode::UNAVAILABLE);
    redis_.Start();
  }
}

// Once --startup-wait is over (tests/integration/startup_wait_test.cc has the wait itself).
TEST(AnalyticsServiceStartupTest, UnreachableRedisIsFatal) {
  ChildProcess process({kBinary, "--listen=127.0.0.1:0",
                        absl::StrCat("--redis=127.0.0.1:", testing::PickFreePort()),
                        "--redis-timeout=500ms", "--startup-wait=1s"});
  const std::optional<int> exit_code = process.Wait(std::chrono::seconds(10));
  ASSERT_TRUE(exit_code.has_value());
  EXPECT_NE(*exit_code, 0);
  for (const std::string& line : process.lines())
    EXPECT_EQ(line.find("listening on"), std::string::npos);
}

TEST(AnalyticsServiceStartupTest, BadFlagsAreFatal) {
  RedisServer redis(/*append_only=*/false);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--no-such-flag=1"},
                                             {"--redis-pool-size=0"},
                                             {"--listen=nowhere"},
                                             {"--redis-timeout=forever"},
                                             {"positional"}}) {
    std::vector<std::string> argv = {kBinary, "--redis=" + redis.address()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess process(argv);
    const std::optional<int> exit_code = process.Wait(std::chrono::seconds(10));
    ASSERT_TRUE(exit_code.has_value()) << args[0];
    EXPECT_NE(*exit_code, 0) << args[0];
  }
}

}  // namespace
}  // namespace newsroom::analytics
