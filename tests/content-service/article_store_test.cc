// One suite over both ArticleStore implementations: every TEST_P runs against SQLite (a temp file)
// and PostgreSQL (a real server started by this binary, a fresh database per test).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "content-service/src/postgres_article_store.h"
#include "content-service/src/sqlite_article_store.h"
#include "tests/support/postgres_server.h"

namespace newsroom::content {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

// Text that must survive storage untouched: Cyrillic, an emoji, both apostrophes, an en dash.
constexpr char kCredit[] = "Олена Коваленко";
constexpr char kTitle[] = "Harbour line’s trains return 🚆 after the rebuild";
constexpr char kBody[] =
    "It's back: services run 13–14 December.\n\nThe operator’s timetable adds\ttrains.";

v1::Article MakeArticle(const std::string& id, int64_t seconds, int32_t nanos = 0,
                        std::vector<std::string> tags = {}) {
  v1::Article article;
  article.set_name(absl::StrCat("articles/", id));
  article.set_title(kTitle);
  article.set_subtitle("A standfirst with an apostrophe: it's fine");
  article.set_body(kBody);
  article.mutable_lead_image()->set_uri("https://images.example.com/a.jpg");
  article.mutable_lead_image()->set_caption("Caption – with a dash");
  article.mutable_lead_image()->set_alt_text("A train by the sea");
  article.mutable_lead_image()->set_credit(kCredit);
  article.mutable_source()->set_name("Coastal Transport Weekly");
  article.mutable_source()->set_uri("https://transport.example.net/a");
  for (std::string& tag : tags) article.add_tags(std::move(tag));
  article.set_language("en-GB");
  article.add_authors("Amara Okafor");
  article.mutable_publish_time()->set_seconds(seconds);
  article.mutable_publish_time()->set_nanos(nanos);
  article.mutable_create_time()->set_seconds(1'790'000'000);
  article.mutable_update_time()->set_seconds(1'790'000'001);
  article.set_etag("etag-1");
  return article;
}

std::vector<std::string> Names(const std::vector<v1::Article>& articles) {
  std::vector<std::string> names;
  for (const v1::Article& article : articles) names.push_back(article.name());
  return names;
}

ListCursor CursorAfter(const v1::Article& article) {
  return ListCursor{article.publish_time(), article.name().substr(sizeof("articles/") - 1)};
}

// The listed articles parsed, each checked against the position List gave it.
std::vector<v1::Article> Parsed(const std::vector<ListedArticle>& listed) {
  std::vector<v1::Article> articles;
  for (const ListedArticle& entry : listed) {
    absl::StatusOr<v1::Article> article = entry.article.Parse();
    EXPECT_TRUE(article.ok()) << article.status();
    if (!article.ok()) continue;
    const ListCursor expected = CursorAfter(*article);
    EXPECT_EQ(entry.position.article_id, expected.article_id);
    EXPECT_EQ(entry.position.publish_time.seconds(), expected.publish_time.seconds());
    EXPECT_EQ(entry.position.publish_time.nanos(), expected.publish_time.nanos());
    articles.push_back(*std::move(article));
  }
  return articles;
}

std::vector<std::string> Names(const std::vector<ListedArticle>& listed) {
  return Names(Parsed(listed));
}

ListCursor CursorAfter(const ListedArticle& listed) { return listed.position; }

// Lists every page of `limit` articles, following the cursor of each page's last article.
std::vector<std::string> ListAll(ArticleStore& store, int limit, const std::string& tag = "") {
  std::vector<std::string> names;
  ListQuery query{.limit = limit, .tag = tag, .after = std::nullopt};
  for (int pages = 0; pages < 1000; ++pages) {
    absl::StatusOr<ArticlePage> page = store.List(query);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    EXPECT_LE(page->articles.size(), static_cast<size_t>(limit));
    for (const std::string& name : Names(page->articles)) names.push_back(name);
    if (!page->has_more) break;
    EXPECT_EQ(page->articles.size(), static_cast<size_t>(limit));
    query.after = CursorAfter(page->articles.back());
  }
  return names;
}

std::unique_ptr<SqliteArticleStore> OpenOrDie(const std::string& path) {
  absl::StatusOr<std::unique_ptr<SqliteArticleStore>> store = SqliteArticleStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

// A fresh directory for database files, removed with everything in it.
class TempDir final {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::path(::testing::TempDir()) /
            absl::StrCat("article_store_test.", getpid(), ".", counter++);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

int UserVersion(const std::string& path) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &statement, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(statement), SQLITE_ROW);
  const int version = sqlite3_column_int(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return version;
}

// Opens stores on one database of its own, empty when the factory is made.
class StoreFactory {
 public:
  virtual ~StoreFactory() = default;
  // Another store on the same database (as a second process, or the same one restarted, would).
  virtual std::unique_ptr<ArticleStore> Open() = 0;
};

class SqliteFactory final : public StoreFactory {
 public:
  std::unique_ptr<ArticleStore> Open() override { return OpenOrDie(dir_.File("articles.db")); }

 private:
  TempDir dir_;
};

// One PostgreSQL server for the whole binary: starting one takes about a second. Started by the
// first test that needs it (again after a TearDown, when gtest repeats with environments
// recreated); destroyed by PostgresEnvironment::TearDown, which stops it and removes its data
// directory (about 300 MB after this binary's tests). Both leaked: nothing to destroy at exit.
std::mutex& SharedPostgresMutex() {
  static auto* mutex = new std::mutex();
  return *mutex;
}
std::unique_ptr<newsroom::testing::PostgresServer>& SharedPostgresSlot() {
  static auto* slot = new std::unique_ptr<newsroom::testing::PostgresServer>();
  return *slot;
}

newsroom::testing::PostgresServer& SharedPostgres() {
  std::lock_guard<std::mutex> lock(SharedPostgresMutex());
  auto& slot = SharedPostgresSlot();
  if (slot == nullptr) slot = std::make_unique<newsroom::testing::PostgresServer>();
  return *slot;
}

class PostgresEnvironment final : public ::testing::Environment {
 public:
  void TearDown() override {
    std::lock_guard<std::mutex> lock(SharedPostgresMutex());
    auto& slot = SharedPostgresSlot();
    if (slot == nullptr) return;
    // Its log goes with its directory: keep what a failure may need.
    if (!::testing::UnitTest::GetInstance()->Passed()) {
      std::ifstream log(slot->log_path());
      if (log)
        std::cerr << "PostgreSQL's log (" << slot->log_path() << "):\n" << log.rdbuf() << "\n";
    }
    slot.reset();
  }
};
const auto* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment());

PostgresOptions PostgresOptionsFor(const std::string& database) {
  return {.url = SharedPostgres().Url(database), .password = SharedPostgres().password()};
}

std::unique_ptr<PostgresArticleStore> OpenPostgresOrDie(const std::string& database) {
  absl::StatusOr<std::unique_ptr<PostgresArticleStore>> store =
      PostgresArticleStore::Open(PostgresOptionsFor(database));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

// A fresh database name per call.
std::string NewDatabase() {
  static std::atomic<int> counter{0};
  const std::string name = absl::StrCat("store_test_", counter++);
  SharedPostgres().CreateDatabase(name);
  return name;
}

class PostgresFactory final : public StoreFactory {
 public:
  std::unique_ptr<ArticleStore> Open() override { return OpenPostgresOrDie(database_); }

 private:
  std::string database_ = NewDatabase();
};

struct Backend {
  std::string name;
  std::function<std::unique_ptr<StoreFactory>()> make;
};

class ArticleStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    factory_ = GetParam().make();
    store_ = factory_->Open();
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<StoreFactory> factory_;
  std::unique_ptr<ArticleStore> store_;
};

INSTANTIATE_TEST_SUITE_P(
    Backends, ArticleStoreTest,
    ::testing::Values(Backend{"Sqlite", [] { return std::make_unique<SqliteFactory>(); }},
                      Backend{"Postgres", [] { return std::make_unique<PostgresFactory>(); }}),
    [](const ::testing::TestParamInfo<Backend>& info) { return info.param.name; });

TEST_P(ArticleStoreTest, GetReturnsEveryByteThatWasCreated) {
  const v1::Article article = MakeArticle("harbour-line", 1'795'000'000, 123, {"rail", "coast"});
  ASSERT_TRUE(store_->Create(article).ok());

  absl::StatusOr<v1::Article> got = store_->Get("harbour-line");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), article.SerializeAsString());
  EXPECT_EQ(got->title(), kTitle);
  EXPECT_EQ(got->body(), kBody);
  EXPECT_EQ(got->lead_image().credit(), kCredit);
  EXPECT_EQ(got->publish_time().nanos(), 123);
  EXPECT_THAT(got->tags(), ElementsAre("rail", "coast"));
}

TEST_P(ArticleStoreTest, ReadStatsAreNeverStored) {
  v1::Article article = MakeArticle("counted", 1);
  article.mutable_read_stats()->set_reads(491);
  ASSERT_TRUE(store_->Create(article).ok());

  absl::StatusOr<v1::Article> got = store_->Get("counted");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_read_stats());
  article.clear_read_stats();
  EXPECT_EQ(got->SerializeAsString(), article.SerializeAsString());
}

TEST_P(ArticleStoreTest, GetStoredReturnsTheBytesWithoutReadStats) {
  v1::Article article = MakeArticle("as-stored", 1'795'000'000, 123, {"rail"});
  article.mutable_read_stats()->set_reads(491);
  ASSERT_TRUE(store_->Create(article).ok());

  absl::StatusOr<StoredArticle> got = store_->GetStored("as-stored");
  ASSERT_TRUE(got.ok()) << got.status();
  article.clear_read_stats();
  EXPECT_EQ(got->bytes(), article.SerializeAsString());
  EXPECT_EQ(store_->GetStored("missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(ArticleStoreTest, ListReturnsTheStoredBytesAndEachArticlesPosition) {
  v1::Article tagged = MakeArticle("tagged", 1'795'000'000, 999'999'999, {"rail"});
  tagged.mutable_read_stats()->set_reads(7);
  ASSERT_TRUE(store_->Create(tagged).ok());
  ASSERT_TRUE(store_->Create(MakeArticle("untagged", -62'135'596'800, 0)).ok());
  tagged.clear_read_stats();

  absl::StatusOr<ArticlePage> all = store_->List({.limit = 10, .tag = "", .after = {}});
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->articles.size(), 2u);
  EXPECT_EQ(all->articles[0].article.bytes(), tagged.SerializeAsString());
  EXPECT_EQ(all->articles[1].article.bytes(),
            MakeArticle("untagged", -62'135'596'800, 0).SerializeAsString());
  EXPECT_THAT(Names(all->articles), ElementsAre("articles/tagged", "articles/untagged"));

  // The tag listing reads the position from the tag index: the same.
  absl::StatusOr<ArticlePage> rail = store_->List({.limit = 10, .tag = "rail", .after = {}});
  ASSERT_TRUE(rail.ok()) << rail.status();
  ASSERT_EQ(rail->articles.size(), 1u);
  EXPECT_EQ(rail->articles[0].article.bytes(), tagged.SerializeAsString());
  EXPECT_THAT(Names(rail->articles), ElementsAre("articles/tagged"));

  // A page's next, read from the tag index too.
  ASSERT_TRUE(store_->Create(MakeArticle("older", 1'700'000'000, 5, {"rail"})).ok());
  rail = store_->List({.limit = 1, .tag = "rail", .after = {}});
  ASSERT_TRUE(rail.ok()) << rail.status();
  EXPECT_THAT(Names(rail->articles), ElementsAre("articles/tagged"));
  ASSERT_TRUE(rail->next.has_value());
  EXPECT_EQ(rail->next->article_id, "older");
  EXPECT_EQ(rail->next->publish_time.seconds(), 1'700'000'000);
  EXPECT_EQ(rail->next->publish_time.nanos(), 5);
}

TEST_P(ArticleStoreTest, CreatingATakenNameIsAlreadyExists) {
  ASSERT_TRUE(store_->Create(MakeArticle("taken", 1, 0, {"a"})).ok());
  v1::Article again = MakeArticle("taken", 2, 0, {"b"});
  again.set_title("Another title");

  EXPECT_EQ(store_->Create(again).code(), absl::StatusCode::kAlreadyExists);
  absl::StatusOr<v1::Article> got = store_->Get("taken");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->title(), kTitle);
  absl::StatusOr<ArticlePage> tagged = store_->List({.limit = 10, .tag = "b", .after = {}});
  ASSERT_TRUE(tagged.ok());
  EXPECT_THAT(tagged->articles, IsEmpty());  // the failed create left no tag rows behind
}

TEST_P(ArticleStoreTest, MalformedNameIsInvalidArgument) {
  v1::Article article = MakeArticle("x", 1);
  for (const char* name : {"", "x", "articles/", "articles/Upper", "posts/x"}) {
    article.set_name(name);
    EXPECT_EQ(store_->Create(article).code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(store_->Replace(article, "etag-1").code(), absl::StatusCode::kInvalidArgument)
        << name;
  }
}

TEST_P(ArticleStoreTest, MissingArticleIsNotFound) {
  EXPECT_EQ(store_->Get("missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Replace(MakeArticle("missing", 1), "etag-1").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("missing").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("'; DROP TABLE articles; --").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(ArticleStoreTest, ReplaceIsACompareAndSetOnTheEtag) {
  ASSERT_TRUE(store_->Create(MakeArticle("cas", 1)).ok());
  v1::Article update = MakeArticle("cas", 1);
  update.set_title("Updated");
  update.set_etag("etag-2");

  absl::Status stale = store_->Replace(update, "etag-0");
  EXPECT_EQ(stale.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store_->Get("cas")->title(), kTitle);

  ASSERT_TRUE(store_->Replace(update, "etag-1").ok());
  absl::StatusOr<v1::Article> got = store_->Get("cas");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->title(), "Updated");
  EXPECT_EQ(got->etag(), "etag-2");
  // The old etag no longer matches.
  EXPECT_EQ(store_->Replace(update, "etag-1").code(), absl::StatusCode::kAborted);
  EXPECT_EQ(store_->Replace(update, "").code(), absl::StatusCode::kAborted);
}

TEST_P(ArticleStoreTest, ReplaceUpdatesTheTagIndexAndPublishTime) {
  ASSERT_TRUE(store_->Create(MakeArticle("moving", 100, 0, {"old", "kept"})).ok());
  ASSERT_TRUE(store_->Create(MakeArticle("other", 200, 0, {"kept"})).ok());
  v1::Article update = MakeArticle("moving", 300, 0, {"kept", "new"});
  update.set_etag("etag-2");
  ASSERT_TRUE(store_->Replace(update, "etag-1").ok());

  EXPECT_THAT(ListAll(*store_, 10, "old"), IsEmpty());
  EXPECT_THAT(ListAll(*store_, 10, "new"), ElementsAre("articles/moving"));
  // Now newer than "other", in the tag listing too.
  EXPECT_THAT(ListAll(*store_, 10, "kept"), ElementsAre("articles/moving", "articles/other"));
  EXPECT_THAT(ListAll(*store_, 10), ElementsAre("articles/moving", "articles/other"));
}

TEST_P(ArticleStoreTest, DeleteRemovesTheArticleAndItsTags) {
  ASSERT_TRUE(store_->Create(MakeArticle("gone", 1, 0, {"t"})).ok());
  ASSERT_TRUE(store_->Delete("gone").ok());

  EXPECT_EQ(store_->Get("gone").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(ListAll(*store_, 10, "t"), IsEmpty());
  EXPECT_EQ(*store_->Count(), 0);
  EXPECT_EQ(store_->Delete("gone").code(), absl::StatusCode::kNotFound);
  // The name is free again.
  ASSERT_TRUE(store_->Create(MakeArticle("gone", 2, 0, {"u"})).ok());
  EXPECT_THAT(ListAll(*store_, 10, "t"), IsEmpty());
  EXPECT_THAT(ListAll(*store_, 10, "u"), ElementsAre("articles/gone"));
}

TEST_P(ArticleStoreTest, ListIsNewestFirstWithTiesByIdDescending) {
  ASSERT_TRUE(store_->Create(MakeArticle("b", 100, 5)).ok());
  ASSERT_TRUE(store_->Create(MakeArticle("a", 100, 5)).ok());
  ASSERT_TRUE(store_->Create(MakeArticle("c", 100, 5)).ok());
  ASSERT_TRUE(store_->Create(MakeArticle("newest", 101, 0)).ok());
  ASSERT_TRUE(store_->Create(MakeArticle("later-nanos", 100, 6)).ok());
  ASSERT_TRUE(store_->Create(MakeArticle("oldest", -5, 0)).ok());

  absl::StatusOr<ArticlePage> page = store_->List({.limit = 10, .tag = "", .after = {}});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(Names(page->articles),
              ElementsAre("articles/newest", "articles/later-nanos", "articles/c", "articles/b",
                          "articles/a", "articles/oldest"));
  EXPECT_FALSE(page->has_more);
}

TEST_P(ArticleStoreTest, HasMoreIsTrueOnlyWhenAnotherArticleFollows) {
  for (const char* id : {"a", "b", "c", "d"}) ASSERT_TRUE(store_->Create(MakeArticle(id, 1)).ok());

  absl::StatusOr<ArticlePage> first = store_->List({.limit = 2, .tag = "", .after = {}});
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(Names(first->articles), ElementsAre("articles/d", "articles/c"));
  EXPECT_TRUE(first->has_more);
  // And names the article that follows: where the page's stretch of the listing order ends.
  ASSERT_TRUE(first->next.has_value());
  EXPECT_EQ(first->next->article_id, "b");
  EXPECT_EQ(first->next->publish_time.seconds(), 1);

  absl::StatusOr<ArticlePage> last =
      store_->List({.limit = 2, .tag = "", .after = CursorAfter(first->articles.back())});
  ASSERT_TRUE(last.ok());
  EXPECT_THAT(Names(last->articles), ElementsAre("articles/b", "articles/a"));
  EXPECT_FALSE(last->has_more);
  EXPECT_FALSE(last->next.has_value());

  absl::StatusOr<ArticlePage> all = store_->List({.limit = 4, .tag = "", .after = {}});
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(all->has_more);
}

TEST_P(ArticleStoreTest, KeysetPagesCoverEveryArticleOnceInOrder) {
  // Many ties on publish_time, so pages often split inside a run of equal times.
  std::vector<std::string> expected_all;
  std::vector<std::string> expected_even;
  for (int i = 0; i < 37; ++i) {
    std::vector<std::string> tags = {"all"};
    if (i % 2 == 0) tags.push_back("even");
    ASSERT_TRUE(
        store_->Create(MakeArticle(absl::StrCat("a", 100 + i), 1000 + i / 5, (i % 3) * 7, tags))
            .ok());
  }
  absl::StatusOr<ArticlePage> everything = store_->List({.limit = 100, .tag = "", .after = {}});
  ASSERT_TRUE(everything.ok());
  ASSERT_EQ(everything->articles.size(), 37u);
  for (const v1::Article& article : Parsed(everything->articles)) {
    expected_all.push_back(article.name());
    const int i = std::stoi(article.name().substr(sizeof("articles/a") - 1)) - 100;
    if (i % 2 == 0) expected_even.push_back(article.name());
  }

  for (int limit : {1, 2, 3, 4, 5, 36, 37, 38}) {
    EXPECT_EQ(ListAll(*store_, limit), expected_all) << "limit " << limit;
    EXPECT_EQ(ListAll(*store_, limit, "all"), expected_all) << "limit " << limit;
    EXPECT_EQ(ListAll(*store_, limit, "even"), expected_even) << "limit " << limit;
  }
  EXPECT_THAT(ListAll(*store_, 5, "none"), IsEmpty());
}

TEST_P(ArticleStoreTest, PagingContinuesPastADeletedCursorArticle) {
  for (const char* id : {"a", "b", "c", "d", "e"}) {
    ASSERT_TRUE(store_->Create(MakeArticle(id, 1)).ok());
  }
  absl::StatusOr<ArticlePage> first = store_->List({.limit = 2, .tag = "", .after = {}});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(store_->Delete("d").ok());                  // the cursor article
  ASSERT_TRUE(store_->Create(MakeArticle("z", 1)).ok());  // sorts before the cursor: not shown

  absl::StatusOr<ArticlePage> next =
      store_->List({.limit = 10, .tag = "", .after = CursorAfter(first->articles.back())});
  ASSERT_TRUE(next.ok());
  EXPECT_THAT(Names(next->articles), ElementsAre("articles/c", "articles/b", "articles/a"));
}

TEST_P(ArticleStoreTest, ListRejectsALimitBelowOne) {
  EXPECT_EQ(store_->List({.limit = 0, .tag = "", .after = {}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->List({.limit = -1, .tag = "", .after = {}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(ArticleStoreTest, BatchGetKeepsRequestOrderSkipsMissingAndKeepsDuplicates) {
  for (const char* id : {"one", "two", "three"}) {
    ASSERT_TRUE(store_->Create(MakeArticle(id, 1)).ok());
  }
  absl::StatusOr<std::vector<v1::Article>> got = store_->BatchGet(
      {"three", "missing", "one", "\"]", "Upper", "three", "", "two", "one\"", "one"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_THAT(Names(*got), ElementsAre("articles/three", "articles/one", "articles/three",
                                       "articles/two", "articles/one"));
  EXPECT_EQ((*got)[0].body(), kBody);

  absl::StatusOr<std::vector<v1::Article>> none = store_->BatchGet({});
  ASSERT_TRUE(none.ok());
  EXPECT_THAT(*none, IsEmpty());
}

TEST_P(ArticleStoreTest, CountCountsArticles) {
  EXPECT_EQ(*store_->Count(), 0);
  ASSERT_TRUE(store_->Create(MakeArticle("a", 1)).ok());
  ASSERT_TRUE(store_->Create(MakeArticle("b", 1)).ok());
  EXPECT_EQ(*store_->Count(), 2);
}

TEST_P(ArticleStoreTest, ConcurrentCallsFromManyThreadsAllSucceed) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!store_->Create(MakeArticle(absl::StrCat("t", t, "-", i), i, t, {"shared"})).ok()) {
          ++failures;
        }
        if (!store_->List({.limit = 5, .tag = "shared", .after = {}}).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*store_->Count(), kThreads * kPerThread);
  EXPECT_EQ(ListAll(*store_, 7, "shared").size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_P(ArticleStoreTest, ArticlesSurviveReopening) {
  ASSERT_TRUE(store_->Create(MakeArticle("kept", 5, 0, {"t"})).ok());
  ASSERT_TRUE(store_->Create(MakeArticle("deleted", 6)).ok());
  ASSERT_TRUE(store_->Delete("deleted").ok());
  store_.reset();

  std::unique_ptr<ArticleStore> store = factory_->Open();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<v1::Article> got = store->Get("kept");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), MakeArticle("kept", 5, 0, {"t"}).SerializeAsString());
  EXPECT_EQ(*store->Count(), 1);
  EXPECT_THAT(ListAll(*store, 10, "t"), ElementsAre("articles/kept"));
}

TEST_P(ArticleStoreTest, TwoStoresOnOneDatabaseSeeEachOthersWrites) {
  std::unique_ptr<ArticleStore> second = factory_->Open();
  ASSERT_NE(second, nullptr);
  std::thread writer([&] {
    for (int i = 0; i < 50; ++i) {
      EXPECT_TRUE(store_->Create(MakeArticle(absl::StrCat("first-", i), i)).ok());
    }
  });
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(second->Create(MakeArticle(absl::StrCat("second-", i), i)).ok());
  }
  writer.join();
  EXPECT_EQ(*store_->Count(), 100);
  EXPECT_EQ(*second->Count(), 100);
  // A write through one is seen by the other at once, compare-and-set included.
  v1::Article update = MakeArticle("first-1", 1);
  update.set_title("Changed by the second");
  update.set_etag("etag-2");
  ASSERT_TRUE(second->Replace(update, "etag-1").ok());
  EXPECT_EQ(store_->Get("first-1")->title(), "Changed by the second");
  EXPECT_EQ(store_->Replace(update, "etag-1").code(), absl::StatusCode::kAborted);
}

TEST(SqliteArticleStoreFileTest, OpeningAFreshFileCreatesTheCurrentSchema) {
  TempDir dir;
  const std::string path = dir.File("fresh.db");
  ASSERT_FALSE(std::filesystem::exists(path));
  ASSERT_NE(OpenOrDie(path), nullptr);
  EXPECT_EQ(UserVersion(path), SqliteArticleStore::kSchemaVersion);
  // Opening again finds the schema in place and changes nothing.
  ASSERT_NE(OpenOrDie(path), nullptr);
  EXPECT_EQ(UserVersion(path), SqliteArticleStore::kSchemaVersion);
}

TEST(SqliteArticleStoreFileTest, NewerSchemaIsRefused) {
  TempDir dir;
  const std::string path = dir.File("future.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  absl::StatusOr<std::unique_ptr<SqliteArticleStore>> store = SqliteArticleStore::Open(path);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(UserVersion(path), 99);
}

TEST(SqliteArticleStoreFileTest, AFileThatIsNotADatabaseIsAnErrorNotACrash) {
  TempDir dir;
  const std::string path = dir.File("not-a.db");
  std::ofstream(path) << std::string(8192, 'x');
  absl::StatusOr<std::unique_ptr<SqliteArticleStore>> store = SqliteArticleStore::Open(path);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(store.status().message()), Not(::testing::HasSubstr("SELECT")));
}

TEST(SqliteArticleStoreFileTest, UnopenablePathsAreErrors) {
  TempDir dir;
  EXPECT_EQ(SqliteArticleStore::Open("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SqliteArticleStore::Open(dir.File("no/such/dir/a.db")).status().code(),
            absl::StatusCode::kInternal);
}

// Runs `sql` (test-owned text) on `database` as the test user; returns the first value, or "".
std::string QueryOne(const std::string& database, const std::string& sql) {
  const std::vector<std::string> rows = SharedPostgres().Execute(database, sql);
  return rows.empty() ? "" : rows.front();
}

TEST(PostgresArticleStoreTest, ReplicasStartingTogetherMigrateOnce) {
  const std::string database = NewDatabase();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (!PostgresArticleStore::Open(PostgresOptionsFor(database)).ok()) ++failures;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(QueryOne(database, "SELECT string_agg(version::text, ',') FROM content_schema_version"),
            absl::StrCat(PostgresArticleStore::kSchemaVersion));
}

TEST(PostgresArticleStoreTest, NewerSchemaIsRefused) {
  const std::string database = NewDatabase();
  ASSERT_NE(OpenPostgresOrDie(database), nullptr);
  QueryOne(database, "UPDATE content_schema_version SET version = 99");
  EXPECT_EQ(PostgresArticleStore::Open(PostgresOptionsFor(database)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(QueryOne(database, "SELECT version FROM content_schema_version"), "99");
}

TEST(PostgresArticleStoreTest, AUrlHoldingAPasswordIsRefusedWithoutEchoingIt) {
  for (const char* url : {"postgresql://newsroom:hunter2-secret@127.0.0.1:1/db",
                          "postgres://newsroom@127.0.0.1:1/db?password=hunter2-secret"}) {
    absl::Status status = PostgresArticleStore::Open({.url = url}).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("password"));
    EXPECT_THAT(std::string(status.message()), Not(::testing::HasSubstr("hunter2")));
  }
  EXPECT_EQ(PostgresArticleStore::Open({.url = "mysql://x"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PostgresArticleStoreTest, UnreachableServerOrWrongPasswordIsUnavailable) {
  const int closed_port = newsroom::testing::PickFreePort();
  EXPECT_EQ(PostgresArticleStore::Open(
                {.url = absl::StrCat("postgresql://newsroom@127.0.0.1:", closed_port, "/newsroom")})
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  PostgresOptions wrong = PostgresOptionsFor("newsroom");
  wrong.password = "not-the-password";
  EXPECT_EQ(PostgresArticleStore::Open(wrong).status().code(), absl::StatusCode::kUnavailable);
}

TEST(PostgresArticleStoreTest, ReconnectsAfterTheServerRestarts) {
  const std::string database = NewDatabase();
  std::unique_ptr<PostgresArticleStore> store = OpenPostgresOrDie(database);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Create(MakeArticle("before", 1, 0, {"t"})).ok());
  // Every pooled connection in use once, so each is broken by the restart.
  std::vector<std::thread> readers;
  for (int i = 0; i < 8; ++i) readers.emplace_back([&] { EXPECT_TRUE(store->Get("before").ok()); });
  for (std::thread& reader : readers) reader.join();

  SharedPostgres().Stop();
  EXPECT_EQ(store->Get("before").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->Create(MakeArticle("while-down", 2)).code(), absl::StatusCode::kUnavailable);
  SharedPostgres().Start();

  // Reads and writes succeed on the first call after the restart: a broken connection is reset
  // and the statement retried.
  for (int i = 0; i < 8; ++i) {
    absl::StatusOr<v1::Article> got = store->Get("before");
    ASSERT_TRUE(got.ok()) << got.status();
  }
  SharedPostgres().Stop();
  SharedPostgres().Start();
  EXPECT_TRUE(store->Create(MakeArticle("after", 3, 0, {"t"})).ok());
  EXPECT_THAT(ListAll(*store, 10, "t"), ElementsAre("articles/after", "articles/before"));
  EXPECT_EQ(store->Get("while-down").status().code(), absl::StatusCode::kNotFound);
}

TEST(PostgresArticleStoreTest, IdsOrderByBytesWhateverTheLocale) {
  // '-' sorts before digits and letters in bytes; linguistic collations would ignore it.
  std::unique_ptr<PostgresArticleStore> store = OpenPostgresOrDie(NewDatabase());
  ASSERT_NE(store, nullptr);
  for (const char* id : {"a-b", "ab", "a-c", "a0"}) {
    ASSERT_TRUE(store->Create(MakeArticle(id, 1)).ok());
  }
  EXPECT_THAT(ListAll(*store, 2),
              ElementsAre("articles/ab", "articles/a0", "articles/a-c", "articles/a-b"));
}

}  // namespace
}  // namespace newsroom::content
