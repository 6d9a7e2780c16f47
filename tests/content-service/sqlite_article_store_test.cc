#include "content-service/src/sqlite_article_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

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
            absl::StrCat("sqlite_article_store_test.", getpid(), ".", counter++);
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

class SqliteArticleStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(":memory:");
    ASSERT_NE(store_, nullptr);
  }

  std::unique_ptr<SqliteArticleStore> store_;
};

TEST_F(SqliteArticleStoreTest, GetReturnsEveryByteThatWasCreated) {
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

TEST_F(SqliteArticleStoreTest, ReadStatsAreNeverStored) {
  v1::Article article = MakeArticle("counted", 1);
  article.mutable_read_stats()->set_reads(491);
  ASSERT_TRUE(store_->Create(article).ok());

  absl::StatusOr<v1::Article> got = store_->Get("counted");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_read_stats());
  article.clear_read_stats();
  EXPECT_EQ(got->SerializeAsString(), article.SerializeAsString());
}

TEST_F(SqliteArticleStoreTest, CreatingATakenNameIsAlreadyExists) {
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

TEST_F(SqliteArticleStoreTest, MalformedNameIsInvalidArgument) {
  v1::Article article = MakeArticle("x", 1);
  for (const char* name : {"", "x", "articles/", "articles/Upper", "posts/x"}) {
    article.set_name(name);
    EXPECT_EQ(store_->Create(article).code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(store_->Replace(article, "etag-1").code(), absl::StatusCode::kInvalidArgument)
        << name;
  }
}

TEST_F(SqliteArticleStoreTest, MissingArticleIsNotFound) {
  EXPECT_EQ(store_->Get("missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Replace(MakeArticle("missing", 1), "etag-1").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("missing").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("'; DROP TABLE articles; --").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SqliteArticleStoreTest, ReplaceIsACompareAndSetOnTheEtag) {
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

TEST_F(SqliteArticleStoreTest, ReplaceUpdatesTheTagIndexAndPublishTime) {
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

TEST_F(SqliteArticleStoreTest, DeleteRemovesTheArticleAndItsTags) {
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

TEST_F(SqliteArticleStoreTest, ListIsNewestFirstWithTiesByIdDescending) {
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

TEST_F(SqliteArticleStoreTest, HasMoreIsTrueOnlyWhenAnotherArticleFollows) {
  for (const char* id : {"a", "b", "c", "d"}) ASSERT_TRUE(store_->Create(MakeArticle(id, 1)).ok());

  absl::StatusOr<ArticlePage> first = store_->List({.limit = 2, .tag = "", .after = {}});
  ASSERT_TRUE(first.ok());
  EXPECT_THAT(Names(first->articles), ElementsAre("articles/d", "articles/c"));
  EXPECT_TRUE(first->has_more);

  absl::StatusOr<ArticlePage> last =
      store_->List({.limit = 2, .tag = "", .after = CursorAfter(first->articles.back())});
  ASSERT_TRUE(last.ok());
  EXPECT_THAT(Names(last->articles), ElementsAre("articles/b", "articles/a"));
  EXPECT_FALSE(last->has_more);

  absl::StatusOr<ArticlePage> all = store_->List({.limit = 4, .tag = "", .after = {}});
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(all->has_more);
}

TEST_F(SqliteArticleStoreTest, KeysetPagesCoverEveryArticleOnceInOrder) {
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
  for (const v1::Article& article : everything->articles) {
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

TEST_F(SqliteArticleStoreTest, PagingContinuesPastADeletedCursorArticle) {
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

TEST_F(SqliteArticleStoreTest, ListRejectsALimitBelowOne) {
  EXPECT_EQ(store_->List({.limit = 0, .tag = "", .after = {}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->List({.limit = -1, .tag = "", .after = {}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SqliteArticleStoreTest, BatchGetKeepsRequestOrderSkipsMissingAndKeepsDuplicates) {
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

TEST_F(SqliteArticleStoreTest, CountCountsArticles) {
  EXPECT_EQ(*store_->Count(), 0);
  ASSERT_TRUE(store_->Create(MakeArticle("a", 1)).ok());
  ASSERT_TRUE(store_->Create(MakeArticle("b", 1)).ok());
  EXPECT_EQ(*store_->Count(), 2);
}

TEST_F(SqliteArticleStoreTest, ConcurrentCallsFromManyThreadsAllSucceed) {
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

TEST(SqliteArticleStoreFileTest, ArticlesSurviveReopening) {
  TempDir dir;
  const std::string path = dir.File("articles.db");
  {
    std::unique_ptr<SqliteArticleStore> store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Create(MakeArticle("kept", 5, 0, {"t"})).ok());
    ASSERT_TRUE(store->Create(MakeArticle("deleted", 6)).ok());
    ASSERT_TRUE(store->Delete("deleted").ok());
  }
  std::unique_ptr<SqliteArticleStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<v1::Article> got = store->Get("kept");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), MakeArticle("kept", 5, 0, {"t"}).SerializeAsString());
  EXPECT_EQ(*store->Count(), 1);
  EXPECT_THAT(ListAll(*store, 10, "t"), ElementsAre("articles/kept"));
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

TEST(SqliteArticleStoreFileTest, TwoStoresOnOneFileSeeEachOthersWrites) {
  TempDir dir;
  const std::string path = dir.File("shared.db");
  std::unique_ptr<SqliteArticleStore> first = OpenOrDie(path);
  std::unique_ptr<SqliteArticleStore> second = OpenOrDie(path);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  std::thread writer([&] {
    for (int i = 0; i < 50; ++i) {
      EXPECT_TRUE(first->Create(MakeArticle(absl::StrCat("first-", i), i)).ok());
    }
  });
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(second->Create(MakeArticle(absl::StrCat("second-", i), i)).ok());
  }
  writer.join();
  EXPECT_EQ(*first->Count(), 100);
  EXPECT_EQ(*second->Count(), 100);
}

}  // namespace
}  // namespace newsroom::content
