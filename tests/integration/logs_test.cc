// Structured logs and trace context end to end: both services as processes with their stderr in
// files, a real redis-server, real gRPC on loopback. Every line must be JSON; a caller's
// traceparent must reach both access logs (analytics-service's as a child of content-service's
// span); a bad traceparent must start a fresh trace; sampling must drop OK calls but never
// server-side failures; no reader id or editor token may appear in any line; and analytics-service
// must say which allocator it runs on (and run on it).

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/src/allocator.h"
#include "newsroom/content/v1/content_service.grpc.pb.h"
#include "tests/support/build_paths.h"
#include "tests/support/process.h"
#include "tests/support/waiting.h"

namespace newsroom::testing {
namespace {

namespace content_v1 = ::newsroom::content::v1;
using ::google::protobuf::Struct;

constexpr char kEditorToken[] = "editor-token-7d1e0c9b4a2f6e83";
constexpr char kReaderId[] = "reader-5f0b77e1c9d2-secret";
constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kCallerSpanId[] = "00f067aa0ba902b7";

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream file(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(line);
  return lines;
}

// Whether process `pid` has a file whose path contains `library` mapped.
bool MapsLibrary(pid_t pid, const std::string& library) {
  for (const std::string& line : ReadLines("/proc/" + std::to_string(pid) + "/maps")) {
    if (line.find(library) != std::string::npos) return true;
  }
  return false;
}

std::optional<Struct> ParseJson(const std::string& line) {
  Struct parsed;
  if (!google::protobuf::util::JsonStringToMessage(line, &parsed).ok()) return std::nullopt;
  return parsed;
}

// A string field of a log line, or "" when it has none.
std::string Text(const Struct& line, const std::string& key) {
  const auto it = line.fields().find(key);
  return it == line.fields().end() ? "" : it->second.string_value();
}

bool IsLowerHex(const std::string& text, std::size_t size) {
  return text.size() == size && text.find_first_not_of("0123456789abcdef") == std::string::npos &&
         text != std::string(size, '0');
}

// content-service and analytics-service with their stderr in files, both sampling new traces at
// `sample_rate`.
class LoggedPair {
 public:
  explicit LoggedPair(const std::string& sample_rate) {
    const std::string token_file = dir_.path() + "/token";
    std::ofstream(token_file) << kEditorToken << "\n";
    chmod(token_file.c_str(), 0600);
    analytics_ = StartService(build_paths::kAnalyticsService,
                              {"--redis=" + redis_.address(),
                               "--key-prefix=test:", "--access-log-sample-rate=" + sample_rate},
                              {"READER_HASH_KEY=logs-test-key"}, analytics_log());
    content_ =
        StartService(build_paths::kContentService,
                     {"--analytics=" + analytics_.address(), "--db=" + dir_.path() + "/content.db",
                      "--analytics_budget=2s", "--editor_token_file=" + token_file,
                      "--access_log_sample_rate=" + sample_rate},
                     {}, content_log());
    stub_ = content_v1::ContentService::NewStub(
        grpc::CreateChannel(content_.address(), grpc::InsecureChannelCredentials()));
  }

  content_v1::ContentService::Stub& content() { return *stub_; }
  std::string content_log() const { return dir_.path() + "/content.log"; }
  std::string analytics_log() const { return dir_.path() + "/analytics.log"; }

  pid_t content_pid() const { return content_.process->pid(); }
  pid_t analytics_pid() const { return analytics_.process->pid(); }

  void StopAnalytics() {
    analytics_.process->Signal(SIGTERM);
    ASSERT_EQ(analytics_.process->Wait(std::chrono::seconds(15)), 0);
  }

  // Every line of `path`, parsed; fails the test for a line that is not a JSON object with the
  // common fields.
  std::vector<Struct> Lines(const std::string& path, const std::string& service) {
    std::vector<Struct> parsed;
    for (const std::string& line : ReadLines(path)) {
      std::optional<Struct> json = ParseJson(line);
      EXPECT_TRUE(json.has_value()) << "not JSON: " << line;
      if (!json) continue;
      EXPECT_EQ(Text(*json, "service"), service) << line;
      EXPECT_FALSE(Text(*json, "time").empty()) << line;
      EXPECT_FALSE(Text(*json, "level").empty()) << line;
      EXPECT_TRUE(json->fields().contains("msg")) << line;
      parsed.push_back(*std::move(json));
    }
    return parsed;
  }

  // The access lines ("msg":"call") of `path` for methods ending in `method`.
  std::vector<Struct> AccessLines(const std::string& path, const std::string& service,
                                  const std::string& method) {
    std::vector<Struct> found;
    for (Struct& line : Lines(path, service)) {
      if (Text(line, "msg") == "call" && absl::EndsWith(Text(line, "method"), "/" + method)) {
        found.push_back(std::move(line));
      }
    }
    return found;
  }

  // Every line of both logs, raw, for the checks that nothing secret was logged.
  std::string AllText() const {
    std::string text;
    for (const std::string& path : {content_log(), analytics_log()}) {
      for (const std::string& line : ReadLines(path)) absl::StrAppend(&text, line, "\n");
    }
    return text;
  }

 private:
  TempDir dir_;
  RedisServer redis_;
  StartedService analytics_;
  StartedService content_;
  std::unique_ptr<content_v1::ContentService::Stub> stub_;
};

std::unique_ptr<grpc::ClientContext> TracedContext(const std::string& traceparent) {
  auto context = Context();
  context->AddMetadata("traceparent", traceparent);
  return context;
}

std::string CreateArticle(LoggedPair& pair, const std::string& id, const std::string& token) {
  content_v1::CreateArticleRequest request;
  request.set_article_id(id);
  request.mutable_article()->set_title("Logs");
  request.mutable_article()->set_body("A body.");
  request.mutable_article()->set_language("en");
  auto context = TracedContext(absl::StrCat("00-", kTraceId, "-", kCallerSpanId, "-01"));
  context->AddMetadata("authorization", absl::StrCat("Bearer ", token));
  content_v1::Article created;
  const grpc::Status status = pair.content().CreateArticle(context.get(), request, &created);
  EXPECT_TRUE(status.ok() || token != kEditorToken) << status.error_message();
  return created.name();
}

TEST(LogsTest, TheCallersTraceReachesBothAccessLogsWithANewSpanPerService) {
  LoggedPair pair("0");
  const std::string name = CreateArticle(pair, "traced", kEditorToken);
  ASSERT_FALSE(name.empty());
  const std::string traceparent = absl::StrCat("00-", kTraceId, "-", kCallerSpanId, "-01");

  content_v1::GetArticleRequest get;
  get.set_name(name);
  content_v1::Article article;
  ASSERT_TRUE(pair.content().GetArticle(TracedContext(traceparent).get(), get, &article).ok());
  content_v1::ReadArticleRequest read;
  read.set_name(name);
  read.set_reader_id(kReaderId);
  ASSERT_TRUE(pair.content().ReadArticle(TracedContext(traceparent).get(), read, &article).ok());
  EXPECT_EQ(article.read_stats().reads(), 1);

  // Content writes its access line before sending the status; analytics' line is written before
  // content gets its answer, so both are there now.
  const auto content_get = pair.AccessLines(pair.content_log(), "content-service", "GetArticle");
  const auto content_read = pair.AccessLines(pair.content_log(), "content-service", "ReadArticle");
  const auto analytics_get =
      pair.AccessLines(pair.analytics_log(), "analytics-service", "BatchGetReadStats");
  const auto analytics_read =
      pair.AccessLines(pair.analytics_log(), "analytics-service", "RecordRead");
  ASSERT_EQ(content_get.size(), 1u);
  ASSERT_EQ(content_read.size(), 1u);
  ASSERT_EQ(analytics_get.size(), 1u);
  ASSERT_EQ(analytics_read.size(), 1u);

  for (const auto* line :
       {&content_get[0], &content_read[0], &analytics_get[0], &analytics_read[0]}) {
    EXPECT_EQ(Text(*line, "trace_id"), kTraceId);
    EXPECT_EQ(Text(*line, "status"), "OK");
    EXPECT_EQ(Text(*line, "level"), "info");
    EXPECT_TRUE(IsLowerHex(Text(*line, "span_id"), 16));
    EXPECT_TRUE(line->fields().at("duration_ms").has_number_value());
  }
  // content-service's span is a child of the caller's; analytics-service's of content-service's.
  EXPECT_EQ(Text(content_read[0], "parent_id"), kCallerSpanId);
  EXPECT_NE(Text(content_read[0], "span_id"), kCallerSpanId);
  EXPECT_EQ(Text(analytics_read[0], "parent_id"), Text(content_read[0], "span_id"));
  EXPECT_NE(Text(analytics_read[0], "parent_id"), kCallerSpanId);
  EXPECT_EQ(Text(analytics_get[0], "parent_id"), Text(content_get[0], "span_id"));
  EXPECT_NE(Text(analytics_read[0], "span_id"), Text(analytics_get[0], "span_id"));
}

TEST(LogsTest, NoReaderIdOrEditorTokenIsEverLogged) {
  LoggedPair pair("1");
  const std::string name = CreateArticle(pair, "secret", kEditorToken);
  ASSERT_FALSE(name.empty());
  const std::string wrong_token = "wrong-token-0a9b8c7d6e5f4a3b";
  CreateArticle(pair, "refused", wrong_token);  // PERMISSION_DENIED, logged (sampled)
  content_v1::ReadArticleRequest read;
  read.set_name(name);
  read.set_reader_id(kReaderId);
  content_v1::Article article;
  ASSERT_TRUE(pair.content().ReadArticle(Context().get(), read, &article).ok());
  read.set_reader_id(std::string(kReaderId) + "\n\"bad");  // refused: INVALID_ARGUMENT
  EXPECT_EQ(pair.content().ReadArticle(Context().get(), read, &article).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  pair.StopAnalytics();
  read.set_reader_id(kReaderId);  // queued in the outbox
  ASSERT_TRUE(pair.content().ReadArticle(Context().get(), read, &article).ok());

  ASSERT_FALSE(pair.AccessLines(pair.content_log(), "content-service", "ReadArticle").empty());
  ASSERT_EQ(pair.AccessLines(pair.content_log(), "content-service", "CreateArticle").size(), 2u);
  const std::string text = pair.AllText();
  EXPECT_FALSE(absl::StrContains(text, kReaderId)) << text;
  EXPECT_FALSE(absl::StrContains(text, "5f0b77e1c9d2")) << text;
  EXPECT_FALSE(absl::StrContains(text, kEditorToken)) << text;
  EXPECT_FALSE(absl::StrContains(text, wrong_token)) << text;
}

TEST(LogsTest, AnInvalidTraceparentStartsAFreshTraceAndTheCallSucceeds) {
  LoggedPair pair("1");
  const std::string name = CreateArticle(pair, "fresh", kEditorToken);
  ASSERT_FALSE(name.empty());
  content_v1::ReadArticleRequest read;
  read.set_name(name);
  read.set_reader_id(kReaderId);
  content_v1::Article article;
  const std::string bad = absl::StrCat("00-", std::string(32, '0'), "-", kCallerSpanId, "-01");
  ASSERT_TRUE(pair.content().ReadArticle(TracedContext(bad).get(), read, &article).ok());
  const std::string upper =
      absl::StrCat("00-4BF92F3577B34DA6A3CE929D0E0E4736-", kCallerSpanId, "-01");
  ASSERT_TRUE(pair.content().ReadArticle(TracedContext(upper).get(), read, &article).ok());

  const auto content_read = pair.AccessLines(pair.content_log(), "content-service", "ReadArticle");
  const auto analytics_read =
      pair.AccessLines(pair.analytics_log(), "analytics-service", "RecordRead");
  ASSERT_EQ(content_read.size(), 2u);
  ASSERT_EQ(analytics_read.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const std::string trace_id = Text(content_read[i], "trace_id");
    EXPECT_TRUE(IsLowerHex(trace_id, 32)) << trace_id;
    EXPECT_NE(trace_id, kTraceId);
    EXPECT_FALSE(content_read[i].fields().contains("parent_id"));
    EXPECT_EQ(Text(analytics_read[i], "trace_id"), trace_id);
    EXPECT_EQ(Text(analytics_read[i], "parent_id"), Text(content_read[i], "span_id"));
  }
  EXPECT_NE(Text(content_read[0], "trace_id"), Text(content_read[1], "trace_id"));
}

TEST(LogsTest, AtRateZeroOnlyServerSideFailuresGetAnAccessLine) {
  LoggedPair pair("0");
  content_v1::GetArticleRequest missing;
  missing.set_name("articles/missing");
  content_v1::Article article;
  EXPECT_EQ(pair.content().GetArticle(Context().get(), missing, &article).error_code(),
            grpc::StatusCode::NOT_FOUND);  // a client error: not logged
  content_v1::ListMostReadArticlesRequest top;
  content_v1::ListMostReadArticlesResponse ranked;
  ASSERT_TRUE(pair.content().ListMostReadArticles(Context().get(), top, &ranked).ok());
  pair.StopAnalytics();
  const grpc::Status down = pair.content().ListMostReadArticles(Context().get(), top, &ranked);
  ASSERT_EQ(down.error_code(), grpc::StatusCode::UNAVAILABLE) << down.error_message();

  std::vector<Struct> calls;
  for (Struct& line : pair.Lines(pair.content_log(), "content-service")) {
    if (Text(line, "msg") == "call") calls.push_back(std::move(line));
  }
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_TRUE(absl::EndsWith(Text(calls[0], "method"), "/ListMostReadArticles"));
  EXPECT_EQ(Text(calls[0], "status"), "UNAVAILABLE");
  EXPECT_EQ(Text(calls[0], "level"), "error");
  EXPECT_FALSE(Text(calls[0], "error").empty());
  EXPECT_TRUE(IsLowerHex(Text(calls[0], "trace_id"), 32));
  // analytics-service logged none of the OK calls content made for the first listing. (Its
  // shutdown ends content-service's change stream with UNAVAILABLE, a server-side end: logged.)
  for (const Struct& line : pair.Lines(pair.analytics_log(), "analytics-service")) {
    if (Text(line, "msg") != "call") continue;
    EXPECT_TRUE(absl::EndsWith(Text(line, "method"), "/WatchReadStatsChanges"))
        << Text(line, "method");
    EXPECT_EQ(Text(line, "status"), "UNAVAILABLE");
  }
}

TEST(LogsTest, AnalyticsServiceLogsTheAllocatorItRunsOn) {
  LoggedPair pair("0");  // each service has written its "listening on" line, after this one
  std::vector<Struct> allocator;
  for (Struct& line : pair.Lines(pair.analytics_log(), "analytics-service")) {
    if (Text(line, "msg") == "allocator") allocator.push_back(std::move(line));
  }
  ASSERT_EQ(allocator.size(), 1u);
  const auto& fields = allocator[0].fields();
#if NEWSROOM_TCMALLOC
  EXPECT_TRUE(absl::StartsWith(Text(allocator[0], "name"), "tcmalloc (gperftools "))
      << Text(allocator[0], "name");
  EXPECT_EQ(fields.at("max_thread_cache_bytes").number_value(), kMaxThreadCacheBytes);
  EXPECT_EQ(fields.at("release_rate").number_value(), kMemoryReleaseRate);
  EXPECT_TRUE(MapsLibrary(pair.analytics_pid(), "libtcmalloc_minimal"));
#else
  EXPECT_EQ(Text(allocator[0], "name"), "glibc malloc");
  EXPECT_EQ(fields.at("max_thread_cache_bytes").number_value(), 0);
  EXPECT_FALSE(MapsLibrary(pair.analytics_pid(), "libtcmalloc"));
#endif
  // content-service stays on glibc's malloc whatever the build (common/src/allocator.h says why).
  EXPECT_FALSE(MapsLibrary(pair.content_pid(), "libtcmalloc"));
}

TEST(LogsTest, ContentServiceLogsItsStoreAndCaches) {
  LoggedPair pair("0");
  std::vector<Struct> store;
  for (Struct& line : pair.Lines(pair.content_log(), "content-service")) {
    if (Text(line, "msg") == "articles in SQLite") store.push_back(std::move(line));
  }
  ASSERT_EQ(store.size(), 1u);
  const auto& fields = store[0].fields();
  EXPECT_TRUE(absl::EndsWith(Text(store[0], "db"), "/content.db"));
  EXPECT_EQ(fields.at("article_cache_bytes").number_value(), 8 << 20);  // the defaults
  EXPECT_EQ(fields.at("listing_cache_bytes").number_value(), 2 << 20);
}

}  // namespace
}  // namespace newsroom::testing
