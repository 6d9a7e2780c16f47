#include "cli/src/commands.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace newsroom::cli {
namespace {

namespace v1 = ::newsroom::content::v1;

// Answers from canned values and records the requests it got.
class FakeContentClient final : public ContentClient {
 public:
  absl::StatusOr<v1::Article> GetArticle(const v1::GetArticleRequest& request) override {
    get_request = request;
    return article;
  }
  absl::StatusOr<v1::Article> ReadArticle(const v1::ReadArticleRequest& request) override {
    read_request = request;
    return article;
  }
  absl::StatusOr<v1::ListArticlesResponse> ListArticles(
      const v1::ListArticlesRequest& request) override {
    list_request = request;
    return list;
  }
  absl::StatusOr<v1::ListMostReadArticlesResponse> ListMostReadArticles(
      const v1::ListMostReadArticlesRequest& request) override {
    top_request = request;
    return top;
  }
  absl::StatusOr<v1::Article> CreateArticle(const v1::CreateArticleRequest& request) override {
    create_request = request;
    if (!article.ok()) return article;
    v1::Article created = request.article();
    created.set_name("articles/" + request.article_id());
    return created;
  }
  absl::Status DeleteArticle(const v1::DeleteArticleRequest& request) override {
    delete_request = request;
    return article.status();
  }

  absl::Status WatchArticleReadStats(
      const v1::WatchArticleReadStatsRequest& request, absl::Duration duration,
      absl::FunctionRef<void(const v1::WatchArticleReadStatsResponse&)> on_update) override {
    watch_request = request;
    watch_duration = duration;
    for (const auto& update : updates) on_update(update);
    return watch_end;
  }

  absl::StatusOr<v1::Article> article;
  std::vector<v1::WatchArticleReadStatsResponse> updates;
  absl::Status watch_end;
  v1::WatchArticleReadStatsRequest watch_request;
  absl::Duration watch_duration;
  v1::ListArticlesResponse list;
  v1::ListMostReadArticlesResponse top;
  v1::GetArticleRequest get_request;
  v1::ReadArticleRequest read_request;
  v1::ListArticlesRequest list_request;
  v1::ListMostReadArticlesRequest top_request;
  v1::CreateArticleRequest create_request;
  v1::DeleteArticleRequest delete_request;
};

v1::WatchArticleReadStatsResponse Update(
    std::vector<std::tuple<std::string, int64_t, int64_t>> entries) {
  v1::WatchArticleReadStatsResponse response;
  for (const auto& [name, reads, readers] : entries) {
    auto* stats = response.add_read_stats();
    stats->set_article(name);
    stats->set_reads(reads);
    stats->set_unique_readers(readers);
  }
  return response;
}

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

class RunCommandTest : public testing::Test {
 protected:
  Outcome Run(std::vector<std::string> args) {
    auto command = ParseCommandLine(args, "127.0.0.1:1");
    EXPECT_TRUE(command.ok()) << command.status();
    std::ostringstream out, err;
    int code = RunCommand(*command, client_, out, err);
    return {code, out.str(), err.str()};
  }

  // Writes `contents` to a fresh file in the test's temporary directory, removed after the test.
  std::string WriteFile(const std::string& name, const std::string& contents) {
    std::string path = testing::TempDir() + "/cli_test_" + std::to_string(getpid()) + "_" + name;
    std::ofstream(path, std::ios::binary) << contents;
    written_.push_back(path);
    return path;
  }

  void TearDown() override {
    for (const std::string& path : written_) std::remove(path.c_str());
  }

  FakeContentClient client_;
  std::vector<std::string> written_;
};

TEST_F(RunCommandTest, RpcErrorIsOneLineWithCodeNameAndExitsOne) {
  client_.article = absl::NotFoundError("articles/x: article not found");
  Outcome outcome = Run({"get", "x"});
  EXPECT_EQ(outcome.code, kExitRpcError);
  EXPECT_EQ(outcome.out, "");
  EXPECT_EQ(outcome.err, "newsroom: NOT_FOUND: articles/x: article not found\n");
  EXPECT_EQ(client_.get_request.name(), "articles/x");
}

TEST_F(RunCommandTest, GetPrintsTheRenderedPageOrJson) {
  v1::Article article;
  article.set_name("articles/x");
  article.set_title("Тест");
  article.mutable_read_stats()->set_reads(0);
  client_.article = article;
  EXPECT_EQ(Run({"get", "x"}).out, "Тест\n\nRead 0 times\n");
  Outcome json = Run({"get", "x", "--json"});
  EXPECT_EQ(json.code, kExitOk);
  EXPECT_NE(json.out.find("\"readStats\":{"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"reads\":\"0\""), std::string::npos) << json.out;
  v1::Article parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &parsed).ok());
  EXPECT_EQ(parsed.title(), "Тест");
}

TEST_F(RunCommandTest, ReadSendsReaderAndReadId) {
  v1::Article article;
  article.set_title("T");
  client_.article = article;
  Outcome outcome = Run({"read", "x", "--reader=alice", "--read-id=r1"});
  EXPECT_EQ(outcome.code, kExitOk);
  EXPECT_EQ(outcome.out, "T\n\nRead count unavailable\n");
  EXPECT_EQ(client_.read_request.name(), "articles/x");
  EXPECT_EQ(client_.read_request.reader_id(), "alice");
  EXPECT_EQ(client_.read_request.read_id(), "r1");
}

TEST_F(RunCommandTest, StatsPrintsOnlyTheReadLines) {
  v1::Article article;
  article.set_title("T");
  client_.article = article;
  EXPECT_EQ(Run({"stats", "x"}).out, "Read count unavailable\n");
  EXPECT_EQ(Run({"stats", "x", "--json"}).out, "null\n");
  client_.article->mutable_read_stats()->set_article("articles/x");
  client_.article->mutable_read_stats()->set_reads(7);
  client_.article->mutable_read_stats()->set_unique_readers(3);
  EXPECT_EQ(Run({"stats", "x"}).out, "Read 7 times\nUnique readers: 3\n");
  EXPECT_EQ(Run({"stats", "x", "--json"}).out,
            "{\"article\":\"articles/x\",\"reads\":\"7\",\"uniqueReaders\":\"3\"}\n");
}

TEST_F(RunCommandTest, ListPrintsOneLinePerArticleThenTheToken) {
  v1::Article* a = client_.list.add_articles();
  a->set_name("articles/a");
  a->set_title("A");
  a->mutable_publish_time()->set_seconds(1688947200);
  a->mutable_read_stats()->set_reads(5);
  v1::Article* b = client_.list.add_articles();
  b->set_name("articles/b");
  b->set_title("B");
  client_.list.set_next_page_token("tok");
  Outcome outcome = Run({"list", "--tag=t", "--page-size=2", "--page-token=p"});
  EXPECT_EQ(outcome.code, kExitOk);
  EXPECT_EQ(outcome.out,
            "articles/a\t2023-07-10\tA\tRead 5 times\n"
            "articles/b\t-\tB\tRead count unavailable\n"
            "Next page token: tok\n");
  EXPECT_EQ(client_.list_request.tag(), "t");
  EXPECT_EQ(client_.list_request.page_size(), 2);
  EXPECT_EQ(client_.list_request.page_token(), "p");
}

TEST_F(RunCommandTest, TopPrintsRankedLines) {
  for (int i = 0; i < 2; ++i) {
    v1::MostReadArticle* entry = client_.top.add_articles();
    entry->set_reads(10 - i);
    entry->mutable_article()->set_name("articles/a" + std::to_string(i));
    entry->mutable_article()->set_title("T" + std::to_string(i));
  }
  Outcome outcome = Run({"top", "--period=7d", "--limit=2"});
  EXPECT_EQ(outcome.out, "1\t10\tT0\tarticles/a0\n2\t9\tT1\tarticles/a1\n");
  EXPECT_EQ(client_.top_request.period(), newsroom::analytics::v1::PERIOD_LAST_7_DAYS);
  EXPECT_EQ(client_.top_request.page_size(), 2);
}

TEST_F(RunCommandTest, CreateTakesIdFromFlagOrFileName) {
  client_.article = v1::Article();
  const std::string path =
      WriteFile("ok.json", R"({"name": "articles/from-file", "title": "Мост 🌉"})");
  Outcome from_file = Run({"create", path});
  EXPECT_EQ(from_file.code, kExitOk) << from_file.err;
  EXPECT_EQ(from_file.out, "Created articles/from-file\n");
  EXPECT_EQ(client_.create_request.article_id(), "from-file");
  EXPECT_EQ(client_.create_request.article().title(), "Мост 🌉");

  Outcome from_flag = Run({"create", path, "--id=flag-id"});
  EXPECT_EQ(from_flag.out, "Created articles/flag-id\n");
  EXPECT_EQ(client_.create_request.article_id(), "flag-id");
}

TEST_F(RunCommandTest, CreateRejectsUnusableFilesAsUsageErrors) {
  client_.article = v1::Article();
  const std::string missing = testing::TempDir() + "/cli_test_does_not_exist.json";
  Outcome no_file = Run({"create", missing});
  EXPECT_EQ(no_file.code, kExitUsage);
  EXPECT_EQ(no_file.err, "newsroom: cannot read " + missing + ": No such file or directory\n");

  Outcome bad_json = Run({"create", WriteFile("bad.json", "{\"title\": ")});
  EXPECT_EQ(bad_json.code, kExitUsage);
  EXPECT_NE(bad_json.err.find("is not a valid Article in protobuf JSON"), std::string::npos);
  EXPECT_EQ(bad_json.err.find('\n'), bad_json.err.size() - 1) << bad_json.err;

  Outcome unknown_field = Run({"create", WriteFile("typo.json", R"({"titel": "x"})"), "--id=a"});
  EXPECT_EQ(unknown_field.code, kExitUsage);

  Outcome no_id = Run({"create", WriteFile("noid.json", R"({"title": "x"})")});
  EXPECT_EQ(no_id.code, kExitUsage);
  EXPECT_NE(no_id.err.find("create needs --id=ID"), std::string::npos) << no_id.err;
  EXPECT_EQ(client_.create_request.article_id(), "");  // never called
}

TEST_F(RunCommandTest, DeletePrintsConfirmationOrEmptyJson) {
  client_.article = v1::Article();
  EXPECT_EQ(Run({"delete", "x"}).out, "Deleted articles/x\n");
  EXPECT_EQ(client_.delete_request.name(), "articles/x");
  EXPECT_EQ(Run({"delete", "x", "--json"}).out, "{}\n");
}

TEST_F(RunCommandTest, WatchPrintsALinePerArticlePerUpdate) {
  client_.updates = {Update({{"articles/a", 0, 0}, {"articles/b", 1, 1}}),
                     Update({{"articles/b", 2, 2}})};
  Outcome outcome = Run({"watch", "a", "b", "--duration=2s"});
  EXPECT_EQ(outcome.code, kExitOk);
  EXPECT_EQ(outcome.out,
            "a\t0 reads\t0 unique readers\nb\t1 read\t1 unique reader\nb\t2 reads\t2 unique "
            "readers\n");
  EXPECT_EQ(client_.watch_request.names_size(), 2);
  EXPECT_EQ(client_.watch_duration, absl::Seconds(2));
}

TEST_F(RunCommandTest, WatchThatFailsExitsOneWithTheStatus) {
  client_.watch_end =
      absl::UnavailableError("analytics-service is unavailable; retry with backoff");
  Outcome outcome = Run({"watch", "a"});
  EXPECT_EQ(outcome.code, kExitRpcError);
  EXPECT_EQ(outcome.err,
            "newsroom: UNAVAILABLE: analytics-service is unavailable; retry with backoff\n");
}

}  // namespace
}  // namespace newsroom::cli
