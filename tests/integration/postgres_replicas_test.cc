// Two content-service processes on one real PostgreSQL server, as replicas behind a load balancer
// run, each with its article cache: a write through either is seen by the other as soon as
// PostgreSQL announces it, and by itself at once.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "newsroom/content/v1/content_service.grpc.pb.h"
#include "tests/integration/pair_fixture.h"
#include "tests/support/build_paths.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/postgres_server.h"
#include "tests/support/process.h"

namespace newsroom::testing {
namespace {

constexpr char kEditorToken[] = "replica-test-editor-token-0123456789";

class Replica {
 public:
  Replica(const PostgresServer& postgres, const TempDir& dir, const std::string& name,
          std::vector<std::string> flags = {})
      : service_(StartService(
            build_paths::kContentService,
            WithFlags({"--db=" + postgres.Url("newsroom"),
                       "--outbox_db=" + dir.path() + "/" + name + ".db",
                       "--analytics=127.0.0.1:" + std::to_string(PickFreePort())},
                      std::move(flags)),
            // The password reaches the service the way a deployment gives it: libpq's own env.
            {"PGPASSWORD=" + postgres.password(), std::string("EDITOR_TOKEN=") + kEditorToken})),
        stub_(content_v1::ContentService::NewStub(
            grpc::CreateChannel(service_.address(), grpc::InsecureChannelCredentials()))) {}

  content_v1::ContentService::Stub& stub() { return *stub_; }

  // A context that carries the editor token.
  static std::unique_ptr<grpc::ClientContext> Editor() {
    auto context = Context();
    context->AddMetadata("authorization", std::string("Bearer ") + kEditorToken);
    return context;
  }

  grpc::StatusCode Get(const std::string& name, content_v1::Article* article) {
    content_v1::GetArticleRequest request;
    request.set_name(name);
    return stub_->GetArticle(Context().get(), request, article).error_code();
  }

  // Whether GetArticle of `name` answers `code` and, when OK, the title `title`, within a few
  // seconds: how long another replica's write may take to be announced.
  bool Serves(const std::string& name, grpc::StatusCode code, const std::string& title = "") {
    return Eventually(
        [&] {
          content_v1::Article article;
          const grpc::StatusCode got = Get(name, &article);
          return got == code && (code != grpc::StatusCode::OK || article.title() == title);
        },
        std::chrono::seconds(10));
  }

  // Whether the first page of ListArticles holds exactly `titles` now.
  bool ListsNow(const std::vector<std::string>& titles) {
    content_v1::ListArticlesRequest request;
    content_v1::ListArticlesResponse response;
    if (!stub_->ListArticles(Context().get(), request, &response).ok()) return false;
    std::vector<std::string> listed;
    for (const auto& article : response.articles()) listed.push_back(article.title());
    return listed == titles;
  }

  // ListsNow within a few seconds: how long another replica's write may take to be announced.
  bool Lists(const std::vector<std::string>& titles) {
    return Eventually([&] { return ListsNow(titles); }, std::chrono::seconds(10));
  }

 private:
  static std::vector<std::string> WithFlags(std::vector<std::string> base,
                                            std::vector<std::string> more) {
    base.insert(base.end(), more.begin(), more.end());
    return base;
  }

  StartedService service_;
  std::unique_ptr<content_v1::ContentService::Stub> stub_;
};

TEST(PostgresReplicasTest, TwoProcessesSeeEachOthersWrites) {
  PostgresServer postgres;
  TempDir dir;
  Replica first(postgres, dir, "first");
  Replica second(postgres, dir, "second");

  content_v1::CreateArticleRequest create;
  create.set_article_id("shared-story");
  *create.mutable_article() = SampleArticle("Written by the first");
  content_v1::Article created;
  const grpc::Status created_status =
      first.stub().CreateArticle(Replica::Editor().get(), create, &created);
  ASSERT_TRUE(created_status.ok()) << created_status.error_message();

  content_v1::Article seen;
  ASSERT_EQ(second.Get(created.name(), &seen), grpc::StatusCode::OK);
  EXPECT_EQ(seen.title(), "Written by the first");
  EXPECT_EQ(seen.etag(), created.etag());
  // Both keep this listing in memory from here on, until they hear of a change.
  EXPECT_TRUE(first.Lists({"Written by the first"}));
  EXPECT_TRUE(second.Lists({"Written by the first"}));

  // The second updates it: the second serves its write at once, the first (which may have
  // cached the article on the read above) once PostgreSQL announces the change; a stale etag
  // through the first is refused, as the database decides that.
  content_v1::UpdateArticleRequest update;
  update.mutable_article()->set_name(created.name());
  update.mutable_article()->set_title("Updated by the second");
  update.mutable_article()->set_etag(created.etag());
  update.mutable_update_mask()->add_paths("title");
  content_v1::Article updated;
  ASSERT_TRUE(second.stub().UpdateArticle(Replica::Editor().get(), update, &updated).ok());
  // The writer's own listing changes with its write, before any announcement could arrive.
  EXPECT_TRUE(second.ListsNow({"Updated by the second"}));
  ASSERT_EQ(second.Get(created.name(), &seen), grpc::StatusCode::OK);
  EXPECT_EQ(seen.title(), "Updated by the second");
  EXPECT_TRUE(first.Serves(created.name(), grpc::StatusCode::OK, "Updated by the second"));
  EXPECT_TRUE(first.Lists({"Updated by the second"}));
  EXPECT_EQ(first.stub().UpdateArticle(Replica::Editor().get(), update, &updated).error_code(),
            grpc::StatusCode::ABORTED);

  content_v1::DeleteArticleRequest remove;
  remove.set_name(created.name());
  google::protobuf::Empty empty;
  ASSERT_TRUE(first.stub().DeleteArticle(Replica::Editor().get(), remove, &empty).ok());
  EXPECT_TRUE(first.ListsNow({}));
  EXPECT_EQ(first.Get(created.name(), &seen), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(second.Serves(created.name(), grpc::StatusCode::NOT_FOUND));
  EXPECT_TRUE(second.Lists({}));
}

// The cache is what makes a replica's reads cheap; this checks it is really there (a second read
// is a hit) and that it never serves what changed while it could not hear of changes: the
// listener's connection is killed, the article deleted by hand meanwhile, and the replica must
// not serve it from memory afterwards.
TEST(PostgresReplicasTest, AReplicaLosingItsListenerServesNothingStale) {
  PostgresServer postgres;
  TempDir dir;
  Replica writer(postgres, dir, "writer");
  const int metrics_port = PickFreePort();
  Replica reader(postgres, dir, "reader",
                 {"--metrics_listen=127.0.0.1:" + std::to_string(metrics_port)});

  content_v1::CreateArticleRequest create;
  create.set_article_id("watched-story");
  *create.mutable_article() = SampleArticle("Cached by the reader");
  content_v1::Article created;
  ASSERT_TRUE(writer.stub().CreateArticle(Replica::Editor().get(), create, &created).ok());
  const auto metric = [&](const char* name) {
    return MetricValue(ScrapeMetrics(metrics_port), name).value_or(-1);
  };
  // Once the reader listens, and the writer's own announcement has come and gone, a read fills its
  // cache and the next one is a hit.
  ASSERT_TRUE(Eventually([&] { return metric("newsroom_content_article_cache_suspended") == 0; }));
  EXPECT_TRUE(Eventually([&] {
    content_v1::Article seen;
    const double hits = metric("newsroom_content_article_cache_hits_total");
    return reader.Get(created.name(), &seen) == grpc::StatusCode::OK &&
           seen.title() == "Cached by the reader" &&
           metric("newsroom_content_article_cache_hits_total") == hits + 1;
  })) << "reads were never served from the cache";
  EXPECT_TRUE(Eventually([&] {
    const double hits = metric("newsroom_content_listing_cache_hits_total");
    return reader.Lists({"Cached by the reader"}) &&
           metric("newsroom_content_listing_cache_hits_total") == hits + 1;
  })) << "listings were never served from the cache";

  // Kill the reader's listener connection (and the writer's); delete the article by hand at
  // once, which the reader may or may not hear of depending on how soon it reconnects.
  postgres.Execute("newsroom",
                   "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                   "WHERE application_name = 'content-service-changes'");
  postgres.Execute("newsroom", "DELETE FROM articles WHERE article_id = 'watched-story'");
  EXPECT_TRUE(reader.Serves(created.name(), grpc::StatusCode::NOT_FOUND));
  EXPECT_TRUE(reader.Lists({}));
  EXPECT_TRUE(
      Eventually([&] { return metric("newsroom_content_article_cache_suspended") == 0.0; }));
}

// A first deployment starts every replica at once on an empty database, each told to load the
// sample articles: all must come up, and the articles be stored once.
TEST(PostgresReplicasTest, ReplicasStartingTogetherShareOneSeed) {
  PostgresServer postgres;
  TempDir dir;
  constexpr int kReplicas = 4;
  std::vector<std::unique_ptr<ChildProcess>> replicas;
  for (int i = 0; i < kReplicas; ++i) {
    replicas.push_back(std::make_unique<ChildProcess>(
        std::vector<std::string>{
            build_paths::kContentService, "--listen=127.0.0.1:0",
            "--db=" + postgres.Url("newsroom"),
            "--outbox_db=" + dir.path() + "/seed" + std::to_string(i) + ".db",
            "--analytics=127.0.0.1:" + std::to_string(PickFreePort()),
            std::string("--seed=") + build_paths::SourcePath("deploy/base/sample-articles.json")},
        std::vector<std::string>{"PGPASSWORD=" + postgres.password()}));
  }
  std::string address;
  for (auto& replica : replicas) {
    const auto line = replica->WaitForLine("listening on", std::chrono::seconds(30));
    ASSERT_TRUE(line.has_value()) << "a replica did not start (exit code "
                                  << replica->Wait(std::chrono::seconds(1)).value_or(-1) << ")";
    address = line->substr(line->rfind(' ') + 1);
  }

  std::ifstream seed(build_paths::SourcePath("deploy/base/sample-articles.json"));
  const std::string json((std::istreambuf_iterator<char>(seed)), std::istreambuf_iterator<char>());
  std::size_t seeded = 0;
  for (std::size_t at = json.find("\"articles/"); at != std::string::npos;
       at = json.find("\"articles/", at + 1)) {
    ++seeded;
  }
  auto stub = content_v1::ContentService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  content_v1::ListArticlesRequest list;
  list.set_page_size(100);
  content_v1::ListArticlesResponse listed;
  ASSERT_TRUE(stub->ListArticles(Context().get(), list, &listed).ok());
  EXPECT_GT(seeded, 0u);
  EXPECT_EQ(static_cast<std::size_t>(listed.articles_size()), seeded);
}

TEST(PostgresReplicasTest, AUrlWithAPasswordIsRefusedAtStart) {
  TempDir dir;
  const std::string stderr_path = dir.path() + "/stderr";
  ChildProcess process({build_paths::kContentService, "--listen=127.0.0.1:0",
                        "--db=postgresql://newsroom:hunter2-secret@127.0.0.1:5432/newsroom"},
                       {}, stderr_path);
  EXPECT_EQ(process.Wait(std::chrono::seconds(20)), 1);
  std::ifstream file(stderr_path);
  const std::string logged((std::istreambuf_iterator<char>(file)),
                           std::istreambuf_iterator<char>());
  EXPECT_NE(logged.find("holds a password"), std::string::npos) << logged;
  EXPECT_EQ(logged.find("hunter2"), std::string::npos) << logged;
}

}  // namespace
}  // namespace newsroom::testing
