// analytics-service against a Redis whose only usable account is the restricted ACL user that
// scripts/redis-acl describes (the default user is off). Proves the rule is complete (every RPC and
// period works, Redis's ACL LOG stays empty) and tight (anything else is refused), and that a
// wrong password or user is a clear log line and UNAVAILABLE, never a crash or a leaked password.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"
#include "tests/support/build_paths.h"
#include "tests/support/dedup_markers.h"
#include "tests/support/metrics_scrape.h"
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
using ::newsroom::testing::MetricValue;
using ::newsroom::testing::ReadFile;
using ::newsroom::testing::RedisServer;
using ::newsroom::testing::RedisServerOptions;
using ::newsroom::testing::ScrapeMetrics;
using ::newsroom::testing::StartedService;
using ::newsroom::testing::StartService;
using ::newsroom::testing::TempDir;

const char* const kBinary = newsroom::testing::build_paths::kAnalyticsService;
const std::string kRedisAclScript = newsroom::testing::build_paths::SourcePath("scripts/redis-acl");
constexpr char kUser[] = "newsroom-analytics";
constexpr char kPassword[] = "acl-test-password-5f2c9e";
constexpr char kWrongPassword[] = "acl-test-wrong-password-81d0";
// Only the test itself uses this account, to inspect Redis and change the user's password.
constexpr char kAdmin[] = "test-admin";
constexpr char kAdminPassword[] = "acl-test-admin-password-77aa";

// A reply flattened for assertions: an error ("ERR"/"NOPERM" ... text), or its strings.
struct Reply {
  bool error = false;
  std::string text;                   // error message, status, string or integer
  std::vector<std::string> elements;  // array replies
};

// One command over a fresh connection authenticated as `user` (argv AUTH, like the service), or
// not authenticated at all when `user` is empty.
Reply RunAs(int port, const std::string& user, const std::string& password,
            const std::vector<std::string>& command) {
  redisContext* context = redisConnect("127.0.0.1", port);
  if (context == nullptr || context->err != 0) {
    if (context != nullptr) redisFree(context);
    return {.error = true, .text = "cannot connect"};
  }
  const auto run = [context](const std::vector<std::string>& argv) {
    std::vector<const char*> args;
    std::vector<size_t> lengths;
    for (const std::string& arg : argv) {
      args.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto* raw = static_cast<redisReply*>(
        redisCommandArgv(context, static_cast<int>(args.size()), args.data(), lengths.data()));
    Reply reply;
    if (raw == nullptr) return Reply{.error = true, .text = "connection error"};
    reply.error = raw->type == REDIS_REPLY_ERROR;
    if (raw->type == REDIS_REPLY_INTEGER) reply.text = std::to_string(raw->integer);
    if (raw->str != nullptr) reply.text.assign(raw->str, raw->len);
    if (raw->type == REDIS_REPLY_ARRAY) {
      for (size_t i = 0; i < raw->elements; ++i) {
        const redisReply* element = raw->element[i];
        reply.elements.push_back(element->str != nullptr ? std::string(element->str, element->len)
                                                         : std::to_string(element->integer));
      }
    }
    freeReplyObject(raw);
    return reply;
  };
  Reply reply;
  if (!user.empty()) reply = run({"AUTH", user, password});
  if (!reply.error) reply = run(command);
  redisFree(context);
  return reply;
}

// The rule scripts/redis-acl prints: the one the deploy manifests and scripts/run use.
std::string AclRule(const std::string& password_file) {
  ChildProcess script({kRedisAclScript, absl::StrCat("--user=", kUser),
                       "--prefix=newsroom:", absl::StrCat("--password-file=", password_file)});
  EXPECT_EQ(script.Wait(std::chrono::seconds(10)), 0);
  EXPECT_EQ(script.lines().size(), 1u);
  return script.lines().empty() ? "" : script.lines().front();
}

// The commands the rule allows ("+get" -> "get"; "+script|load" -> "script|load").
std::set<std::string> AllowedCommands(const std::string& rule) {
  std::set<std::string> commands;
  for (absl::string_view token : absl::StrSplit(rule, ' ')) {
    if (absl::StartsWith(token, "+")) commands.emplace(token.substr(1));
  }
  return commands;
}

class RedisAclTest : public ::testing::Test {
 protected:
  RedisAclTest()
      : password_file_(WritePasswordFile()),
        rule_(AclRule(password_file_)),
        redis_(RedisServerOptions{
            .append_only = false,
            .acl_rules = {"user default off", rule_,
                          absl::StrCat("user ", kAdmin, " on >", kAdminPassword, " ~* &* +@all")},
        }) {}

  std::string WritePasswordFile() {
    const std::string path = dir_.path() + "/redis-password";
    std::ofstream(path) << kPassword << "\n";
    return path;
  }

  Reply Admin(const std::vector<std::string>& command) {
    return RunAs(redis_.port(), kAdmin, kAdminPassword, command);
  }

  // Starts analytics-service as the ACL user, its stderr in log_path_. No READER_HASH_KEY, so it
  // also creates the hash key in Redis (SET NX, GET) as a first deployment does.
  void StartAnalytics(std::vector<std::string> args, std::vector<std::string> env) {
    args.insert(args.end(), {absl::StrCat("--redis=", redis_.address()),
                             "--health-check-interval=50ms", "--redis-timeout=500ms"});
    service_ = StartService(kBinary, std::move(args), std::move(env), log_path_);
    auto channel = grpc::CreateChannel(service_.address(), grpc::InsecureChannelCredentials());
    stub_ = v1::AnalyticsService::NewStub(channel);
    health_ = grpc::health::v1::Health::NewStub(channel);
  }

  HealthCheckResponse::ServingStatus Health() {
    grpc::health::v1::HealthCheckRequest request;
    HealthCheckResponse response;
    if (!health_->Check(Context().get(), request, &response).ok()) {
      return HealthCheckResponse::UNKNOWN;
    }
    return response.status();
  }

  grpc::Status Record(const std::string& article, const std::string& read_id,
                      absl::Time read_time = absl::Now(), v1::ReadStats* stats = nullptr) {
    v1::RecordReadRequest request;
    request.set_article("articles/" + article);
    request.set_read_id(read_id);
    request.set_reader_id("reader-" + read_id);
    request.mutable_read_time()->set_seconds(absl::ToUnixSeconds(read_time));
    v1::ReadStats ignored;
    return stub_->RecordRead(Context().get(), request, stats != nullptr ? stats : &ignored);
  }

  std::string Log() { return ReadFile(log_path_); }

  TempDir dir_;
  std::string password_file_;
  std::string rule_;
  RedisServer redis_;
  std::string log_path_ = dir_.path() + "/analytics.log";
  StartedService service_;
  std::unique_ptr<v1::AnalyticsService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

TEST_F(RedisAclTest, TheRuleIsOneLineForThePrefixWithTheHashedPassword) {
  EXPECT_TRUE(absl::StartsWith(rule_, absl::StrCat("user ", kUser, " reset on #"))) << rule_;
  EXPECT_TRUE(absl::StrContains(rule_, " ~newsroom:* resetchannels -@all ")) << rule_;
  EXPECT_FALSE(absl::StrContains(rule_, kPassword))
      << "the rule must hold a hash, not the password";
}

TEST_F(RedisAclTest, EveryRpcAndPeriodWorksAsTheAclUser) {
  // The password from a file here; the next tests take it from env REDIS_PASSWORD. With metrics,
  // so that the health monitor reads Redis's memory use (INFO) too; and a dedup window of its own.
  StartAnalytics(
      {absl::StrCat("--redis-user=", kUser), absl::StrCat("--redis-password-file=", password_file_),
       "--metrics-listen=127.0.0.1:0", "--dedup-window=10m"},
      {});
  ASSERT_EQ(Health(), HealthCheckResponse::SERVING);

  // RecordRead: today, three days ago (the 7/30-day union), and a retry (the dedup branch).
  v1::ReadStats stats;
  ASSERT_TRUE(Record("a", "r1", absl::Now(), &stats).ok()) << Log();
  ASSERT_TRUE(Record("a", "r2", absl::Now() - absl::Hours(72)).ok());
  ASSERT_TRUE(Record("a", "r1", absl::Now(), &stats).ok());
  EXPECT_EQ(stats.reads(), 2);
  // --dedup-window is the length of the slots markers are kept by: r1's marker is a field of a
  // hash of the slot current when it was recorded (this one or, should the test straddle a slot's
  // end, the one before), which expires at the end of the slot after its own.
  constexpr int64_t kWindow = 600;
  const std::optional<FoundDedupMarker> marker = FindDedupMarker(
      [this](const std::vector<std::string>& argv) {
        const Reply reply = Admin(argv);
        EXPECT_FALSE(reply.error) << argv.front() << ": " << reply.text;
        return reply.text;
      },
      "newsroom:", kWindow, absl::Now(), "a", "r1");
  ASSERT_TRUE(marker.has_value()) << "no dedup marker for r1";
  EXPECT_EQ(std::stoll(Admin({"EXPIRETIME", marker->address.key}).text),
            (marker->slot + 2) * kWindow)
      << marker->address.key;

  v1::BatchRecordReadsRequest batch;
  for (const char* read_id : {"b1", "b2"}) {
    v1::RecordReadRequest* read = batch.add_requests();
    read->set_article("articles/b");
    read->set_read_id(read_id);
  }
  v1::BatchRecordReadsResponse batch_response;
  ASSERT_TRUE(stub_->BatchRecordReads(Context().get(), batch, &batch_response).ok());
  EXPECT_EQ(batch_response.stats(1).reads(), 2);

  v1::GetReadStatsRequest get;
  get.set_article("articles/a");
  ASSERT_TRUE(stub_->GetReadStats(Context().get(), get, &stats).ok());
  EXPECT_EQ(stats.reads(), 2);
  EXPECT_EQ(stats.unique_readers(), 2);

  v1::BatchGetReadStatsRequest batch_get;
  batch_get.add_articles("articles/a");
  batch_get.add_articles("articles/b");
  v1::BatchGetReadStatsResponse batch_get_response;
  ASSERT_TRUE(stub_->BatchGetReadStats(Context().get(), batch_get, &batch_get_response).ok());
  EXPECT_EQ(batch_get_response.stats(1).reads(), 2);

  // Every period the API has, so a new one cannot slip past the ACL.
  const google::protobuf::EnumDescriptor* periods = v1::Period_descriptor();
  for (int i = 0; i < periods->value_count(); ++i) {
    v1::ListTopArticlesRequest request;
    request.set_period(static_cast<v1::Period>(periods->value(i)->number()));
    v1::ListTopArticlesResponse response;
    const grpc::Status status = stub_->ListTopArticles(Context().get(), request, &response);
    ASSERT_TRUE(status.ok()) << periods->value(i)->name() << ": " << status.error_message();
    EXPECT_FALSE(response.articles().empty()) << periods->value(i)->name();
  }

  // After SCRIPT FLUSH the service reloads its scripts (SCRIPT LOAD on NOSCRIPT) as the user.
  ASSERT_FALSE(Admin({"SCRIPT", "FLUSH"}).error);
  ASSERT_TRUE(Record("a", "r3").ok()) << Log();
  v1::ListTopArticlesRequest week;
  week.set_period(v1::PERIOD_LAST_7_DAYS);
  v1::ListTopArticlesResponse week_response;
  ASSERT_FALSE(Admin({"SCRIPT", "FLUSH"}).error);
  ASSERT_TRUE(stub_->ListTopArticles(Context().get(), week, &week_response).ok());

  // The change log is read as the user too: a stream's first poll reads the head, later ones the
  // changes since.
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = stub_->WatchReadStatsChanges(&context, v1::WatchReadStatsChangesRequest());
    v1::WatchReadStatsChangesResponse message;
    ASSERT_TRUE(reader->Read(&message)) << Log();
    ASSERT_TRUE(Record("a", "r4").ok()) << Log();
    bool seen = false;
    while (!seen && reader->Read(&message)) {
      for (const v1::ReadStats& stats : message.stats()) seen |= stats.article() == "articles/a";
    }
    EXPECT_TRUE(seen) << Log();
    context.TryCancel();
    reader->Finish();
  }

  // Redis logs every command or key the ACL refused: none may have been.
  const Reply acl_log = Admin({"ACL", "LOG"});
  EXPECT_TRUE(acl_log.elements.empty()) << "Redis refused something; see ACL LOG";
  EXPECT_FALSE(absl::StrContains(Log(), "cannot read Redis's memory use")) << Log();
  // INFO did run as the user: its figure is in the metrics.
  const int metrics_port =
      service_.process->WaitForPort("metrics listening on ", std::chrono::seconds(10)).value_or(0);
  ASSERT_NE(metrics_port, 0);
  std::string scrape;
  EXPECT_TRUE(Eventually([&] {
    scrape = ScrapeMetrics(metrics_port);
    return MetricValue(scrape, "newsroom_analytics_redis_used_memory_bytes").value_or(0) > 0;
  })) << scrape;
  EXPECT_EQ(Health(), HealthCheckResponse::SERVING);
  EXPECT_FALSE(absl::StrContains(Log(), kPassword));
}

TEST_F(RedisAclTest, TheAclUserCanDoNothingElse) {
  // Each allowed command, with a key under the prefix, passes Redis's own check (ACL DRYRUN).
  // Every one the rule lists must be here, so the rule and this test change together.
  const std::vector<std::vector<std::string>> allowed = {
      {"PING"},
      {"SCRIPT", "LOAD", "return 1"},
      {"EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "1", "newsroom:reads:a"},
      {"GET", "newsroom:reads:a"},
      {"SET", "newsroom:dedup:600:1:shards", "1024", "EXAT", "1"},
      {"HSETNX", "newsroom:dedup:600:1:0", "marker", ""},
      {"HEXISTS", "newsroom:dedup:600:0:0", "marker"},
      {"HLEN", "newsroom:dedup:600:1:0"},
      {"INCRBY", "newsroom:dedup:600:1:count", "1"},
      {"INCR", "newsroom:reads:a"},
      {"PFADD", "newsroom:readers:a", "h"},
      {"PFCOUNT", "newsroom:readers:a"},
      {"ZINCRBY", "newsroom:top:all", "1", "a"},
      {"EXPIREAT", "newsroom:top:day:2024-01-01", "1"},
      {"ZREVRANGE", "newsroom:top:all", "0", "1", "WITHSCORES"},
      {"ZUNIONSTORE", "newsroom:tmp:top-union", "1", "newsroom:top:day:2024-01-01"},
      {"DEL", "newsroom:tmp:top-union"},
      {"ZADD", "newsroom:changes", "1", "a"},
      {"ZRANGEBYSCORE", "newsroom:changes", "1", "+inf"},
      {"INFO", "memory"},
  };
  std::set<std::string> probed;
  for (const std::vector<std::string>& command : allowed) {
    std::vector<std::string> dryrun = {"ACL", "DRYRUN", kUser};
    dryrun.insert(dryrun.end(), command.begin(), command.end());
    const Reply reply = Admin(dryrun);
    EXPECT_FALSE(reply.error) << command[0] << ": " << reply.text;
    EXPECT_EQ(reply.text, "OK") << command[0] << ": " << reply.text;
    std::string name = absl::AsciiStrToLower(command[0]);
    if (name == "script") name += "|load";
    probed.insert(name);
  }
  EXPECT_EQ(probed, AllowedCommands(rule_)) << rule_;

  // Scripts the user loads itself still run under its ACL.
  const std::string other_key_script =
      RunAs(redis_.port(), kUser, kPassword,
            {"SCRIPT", "LOAD", "return redis.call('GET', 'other:key')"})
          .text;
  const std::string flush_script =
      RunAs(redis_.port(), kUser, kPassword, {"SCRIPT", "LOAD", "return redis.call('FLUSHALL')"})
          .text;
  const std::vector<std::vector<std::string>> refused = {
      {"FLUSHALL"},
      {"FLUSHDB"},
      {"KEYS", "*"},
      {"SCAN", "0"},
      {"GET", "other:key"},
      {"SET", "other:key", "1"},
      {"DEL", "other:key"},
      {"GET", "newsroom"},  // the prefix is "newsroom:", colon included
      {"HGETALL", "newsroom:reads:a"},
      {"EVAL", "return 1", "0"},
      {"EVALSHA", other_key_script, "0"},
      {"EVALSHA", flush_script, "0"},
      {"SCRIPT", "FLUSH"},
      {"CONFIG", "GET", "*"},
      {"ACL", "WHOAMI"},
      {"CLIENT", "LIST"},
      {"SELECT", "1"},
      {"PUBLISH", "channel", "x"},
      {"SHUTDOWN"},
  };
  int refused_count = 0;
  for (const std::vector<std::string>& command : refused) {
    const Reply reply = RunAs(redis_.port(), kUser, kPassword, command);
    const bool by_acl = reply.error && (absl::StartsWith(reply.text, "NOPERM") ||
                                        absl::StrContains(reply.text, "can't access") ||
                                        absl::StrContains(reply.text, "can't run") ||
                                        absl::StrContains(reply.text, "no permissions"));
    EXPECT_TRUE(by_acl) << absl::StrJoin(command, " ") << " -> " << reply.text;
    refused_count += by_acl ? 1 : 0;
  }
  // The user itself is fine: a key under the prefix is readable.
  EXPECT_FALSE(RunAs(redis_.port(), kUser, kPassword, {"GET", "newsroom:reads:a"}).error);
  // And nobody gets in without AUTH (the default user is off).
  const Reply anonymous = RunAs(redis_.port(), "", "", {"PING"});
  EXPECT_TRUE(anonymous.error) << anonymous.text;

  std::printf(
      "redis acl: %zu commands allowed, %d of %zu refused as expected, no access without AUTH\n",
      probed.size(), refused_count, refused.size());
}

TEST_F(RedisAclTest, AWrongPasswordOrUserStopsTheStartWithAClearLine) {
  const struct {
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string expected;
  } cases[] = {
      {{absl::StrCat("--redis-user=", kUser)},
       {absl::StrCat("REDIS_PASSWORD=", kWrongPassword)},
       R"(refused AUTH as user \"newsroom-analytics\" (WRONGPASS)"},  // JSON-escaped quotes
      {{"--redis-user=nobody"},
       {absl::StrCat("REDIS_PASSWORD=", kPassword)},
       R"(refused AUTH as user \"nobody\" (WRONGPASS)"},
      {{}, {absl::StrCat("REDIS_PASSWORD=", kWrongPassword)}, "refused AUTH as the default user"},
      {{}, {}, "NOAUTH"},  // no AUTH at all: the default user is off
      {{absl::StrCat("--redis-user=", kUser)}, {}, "--redis-user: needs a password"},
      {{absl::StrCat("--redis-user=", kUser),
        absl::StrCat("--redis-password-file=", password_file_)},
       {absl::StrCat("REDIS_PASSWORD=", kPassword)},
       "--redis-password-file: set either it or env REDIS_PASSWORD, not both"},
  };
  for (const auto& c : cases) {
    const std::string log = dir_.path() + "/start.log";
    std::remove(log.c_str());
    std::vector<std::string> argv = {kBinary, "--listen=127.0.0.1:0",
                                     absl::StrCat("--redis=", redis_.address()),
                                     "--redis-timeout=500ms"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    ChildProcess process(argv, c.env, log);
    EXPECT_EQ(process.Wait(std::chrono::seconds(10)), 1) << c.expected;
    const std::string stderr_text = ReadFile(log);
    EXPECT_TRUE(absl::StrContains(stderr_text, c.expected)) << stderr_text;
    // Redis answered and refused: nothing to wait for (--startup-wait is for a Redis not up yet).
    EXPECT_FALSE(absl::StrContains(stderr_text, "retrying")) << stderr_text;
    EXPECT_FALSE(absl::StrContains(stderr_text, kWrongPassword)) << stderr_text;
    EXPECT_FALSE(absl::StrContains(stderr_text, kPassword)) << stderr_text;
    for (const std::string& line : process.lines()) {
      EXPECT_FALSE(absl::StrContains(line, "listening on")) << c.expected;
    }
  }
}

TEST_F(RedisAclTest, ARotatedPasswordIsNotServingAndUnavailableUntilItMatchesAgain) {
  StartAnalytics({absl::StrCat("--redis-user=", kUser)},
                 {absl::StrCat("REDIS_PASSWORD=", kPassword)});
  ASSERT_TRUE(Record("a", "before").ok()) << Log();

  // The password changes in Redis but not in the service; its connections are dropped.
  ASSERT_FALSE(
      Admin({"ACL", "SETUSER", kUser, "resetpass", absl::StrCat(">", kWrongPassword)}).error);
  ASSERT_FALSE(Admin({"CLIENT", "KILL", "USER", kUser}).error);
  EXPECT_TRUE(Eventually([&] { return Health() == HealthCheckResponse::NOT_SERVING; }));
  const grpc::Status refused = Record("a", "during");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_FALSE(absl::StrContains(refused.error_message(), "WRONGPASS"))
      << "callers get a generic message; the detail is in the log";
  EXPECT_TRUE(Eventually([&] {
    return absl::StrContains(Log(), R"(refused AUTH as user \"newsroom-analytics\" (WRONGPASS)");
  })) << Log();

  // Back to the password the service has: it recovers by itself.
  ASSERT_FALSE(Admin({"ACL", "SETUSER", kUser, "resetpass", absl::StrCat(">", kPassword)}).error);
  EXPECT_TRUE(Eventually([&] { return Health() == HealthCheckResponse::SERVING; }));
  EXPECT_TRUE(Record("a", "after").ok()) << Log();

  const std::string log = Log();
  EXPECT_FALSE(absl::StrContains(log, kPassword)) << log;
  EXPECT_FALSE(absl::StrContains(log, kWrongPassword)) << log;
  std::fprintf(stderr, "analytics-service's log:\n%s", log.c_str());
}

}  // namespace
}  // namespace newsroom::analytics
