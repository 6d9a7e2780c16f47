#include "content-service/src/cached_article_store.h"

#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "content-service/src/sqlite_article_store.h"
#include "tests/content-service/titled_article.h"

namespace newsroom::content {
namespace {

// Runs `hook` in the middle of every backend GetStored (the cache's read): between the database
// read and the cache fill, which is where a concurrent write can slip in.
class HookedStore final : public ArticleStore {
 public:
  explicit HookedStore(std::unique_ptr<ArticleStore> inner) : inner_(std::move(inner)) {}
  std::function<void()> hook;
  // Runs once after a Replace that succeeded, before the cache learns of it.
  std::function<void()> after_replace;
  // Runs once in the middle of a BatchGet, like `hook`.
  std::function<void()> batch_get_hook;

  absl::Status Create(const v1::Article& a) override { return inner_->Create(a); }
  absl::StatusOr<v1::Article> Get(absl::string_view id) override { return inner_->Get(id); }
  absl::StatusOr<StoredArticle> GetStored(absl::string_view id) override {
    auto article = inner_->GetStored(id);
    if (hook) std::exchange(hook, nullptr)();
    return article;
  }
  int batch_gets = 0;  // BatchGet calls
  bool fail_batch_get = false;
  absl::StatusOr<std::vector<v1::Article>> BatchGet(const std::vector<std::string>& ids) override {
    ++batch_gets;
    if (fail_batch_get) return absl::UnavailableError("database busy");
    auto articles = inner_->BatchGet(ids);
    if (batch_get_hook) std::exchange(batch_get_hook, nullptr)();
    return articles;
  }
  absl::Status Replace(const v1::Article& a, absl::string_view etag) override {
    absl::Status status = inner_->Replace(a, etag);
    if (status.ok() && after_replace) std::exchange(after_replace, nullptr)();
    return status;
  }
  absl::Status Delete(absl::string_view id) override { return inner_->Delete(id); }
  // Runs once in the middle of a List, like `hook`.
  std::function<void()> list_hook;
  int lists = 0;  // List calls that reached the backend
  // Returns pages that say more follow but not where (no `next`), as no store of ours does.
  bool strip_next = false;

  absl::StatusOr<ArticlePage> List(const ListQuery& q) override {
    ++lists;
    auto page = inner_->List(q);
    if (strip_next && page.ok()) page->next.reset();
    if (list_hook) std::exchange(list_hook, nullptr)();
    return page;
  }
  absl::StatusOr<int64_t> Count() override { return inner_->Count(); }

 private:
  std::unique_ptr<ArticleStore> inner_;
};

class CachedArticleStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(CachedArticleStore::Bounds().resolution_wait); }

  // A cache over a new, empty store, whose Lists wait up to `resolution_wait` for a resolution.
  void Build(absl::Duration resolution_wait) {
    auto sqlite = SqliteArticleStore::Open(":memory:");
    ASSERT_TRUE(sqlite.ok()) << sqlite.status();
    auto hooked = std::make_unique<HookedStore>(*std::move(sqlite));
    hooked_ = hooked.get();
    cache_ = std::make_unique<CachedArticleStore>(
        std::move(hooked), CachedArticleStore::Bounds{.article_bytes = 1 << 20,
                                                      .listing_bytes = 1 << 20,
                                                      .resolution_wait = resolution_wait});
  }

  // The titles of a listing, in order; "error: ..." when it failed.
  std::vector<std::string> Titles(const ListQuery& query) {
    auto page = cache_->List(query);
    if (!page.ok()) return {"error: " + page.status().ToString()};
    std::vector<std::string> titles;
    for (const ListedArticle& listed : page->articles)
      titles.push_back(listed.article.Parse()->title());
    return titles;
  }

  // Creates untagged articles of one publish time through the cache, titled by their ids: they list
  // in descending id order.
  void CreateThrough(std::initializer_list<const char*> ids) {
    for (const char* id : ids) ASSERT_TRUE(cache_->Create(TitledArticle(id, id, "e1")).ok());
  }

  HookedStore* hooked_ = nullptr;
  std::unique_ptr<CachedArticleStore> cache_;
};

// `article` published a day after TitledArticle's: first in the listing order.
v1::Article Newest(v1::Article article) {
  article.mutable_publish_time()->set_seconds(1795086400);
  return article;
}

TEST_F(CachedArticleStoreTest, ServesRepeatedReadsFromMemory) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "Title", "e1")).ok());
  for (int i = 0; i < 3; ++i) {
    auto article = cache_->Get("a");
    ASSERT_TRUE(article.ok());
    EXPECT_EQ(article->title(), "Title");
  }
  EXPECT_EQ(cache_->counters().hits, 3u);
  EXPECT_EQ(cache_->counters().misses, 0u);
}

TEST_F(CachedArticleStoreTest, SharesTheStoredBytesOfACachedArticle) {
  v1::Article article = TitledArticle("a", "Title", "e1");
  article.mutable_read_stats()->set_reads(7);  // never stored, so never cached either
  ASSERT_TRUE(cache_->Create(article).ok());
  auto first = cache_->GetStored("a");
  auto second = cache_->GetStored("a");
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->bytes().data(), second->bytes().data());  // no copy per read
  auto parsed = first->Parse();
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->title(), "Title");
  EXPECT_FALSE(parsed->has_read_stats());
  EXPECT_EQ(cache_->counters().hits, 2u);
}

// A batch with one article not cached fetches them all, but keeps the cached ones as they were:
// their bytes stay the ones responses in flight share.
TEST_F(CachedArticleStoreTest, ABatchMissKeepsTheArticlesAlreadyCached) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "Title", "e1")).ok());   // cached
  ASSERT_TRUE(hooked_->Create(TitledArticle("b", "Title", "e1")).ok());  // stored, not cached
  auto before = cache_->GetStored("a");
  ASSERT_TRUE(before.ok());
  auto batch = cache_->BatchGet({"a", "b"});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->size(), 2u);
  auto after = cache_->GetStored("a");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->shared_bytes(), before->shared_bytes()) << "the cached entry was replaced";
  auto filled = cache_->GetStored("b");
  ASSERT_TRUE(filled.ok());
  EXPECT_EQ(cache_->counters().misses, 1u) << "b was cached by the batch";
}

TEST_F(CachedArticleStoreTest, CachesWhatAMissReadStored) {
  ASSERT_TRUE(hooked_->Create(TitledArticle("a", "Title", "e1")).ok());  // stored, not yet cached
  auto missed = cache_->GetStored("a");
  ASSERT_TRUE(missed.ok());
  EXPECT_EQ(cache_->counters().misses, 1u);
  auto hit = cache_->GetStored("a");
  ASSERT_TRUE(hit.ok());
  EXPECT_EQ(cache_->counters().hits, 1u);
  EXPECT_EQ(hit->bytes(), missed->bytes());
  EXPECT_EQ(cache_->counters().bytes, hit->bytes().size());
  EXPECT_EQ(cache_->GetStored("b").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CachedArticleStoreTest, ListSharesTheBytesItHoldsAndNeitherFillsNorCounts) {
  ASSERT_TRUE(cache_->Create(TitledArticle("cached", "Cached", "e1")).ok());
  ASSERT_TRUE(hooked_->Create(TitledArticle("stored", "Stored", "e1")).ok());  // not cached
  // Changed behind the cache's back: the cached copy is stale, so the listing's own bytes stand.
  ASSERT_TRUE(cache_->Create(TitledArticle("stale", "Before", "e1")).ok());
  ASSERT_TRUE(hooked_->Replace(TitledArticle("stale", "After", "e2"), "e1").ok());
  const CachedArticleStore::Counters before = cache_->counters();

  auto page = cache_->List({.limit = 10, .tag = "", .after = {}});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->articles.size(), 3u);  // same publish time: by id descending
  const ListedArticle& stored = page->articles[0];
  const ListedArticle& stale = page->articles[1];
  const ListedArticle& cached = page->articles[2];
  EXPECT_EQ(stored.position.article_id, "stored");
  EXPECT_EQ(stale.position.article_id, "stale");
  EXPECT_EQ(cached.position.article_id, "cached");
  EXPECT_EQ(stale.article.Parse()->title(), "After");
  EXPECT_EQ(stored.article.Parse()->title(), "Stored");

  const CachedArticleStore::Counters after = cache_->counters();
  EXPECT_EQ(after.hits, before.hits);
  EXPECT_EQ(after.misses, before.misses);
  EXPECT_EQ(after.entries, before.entries);
  EXPECT_EQ(after.bytes, before.bytes);

  auto held = cache_->GetStored("cached");
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(cached.article.bytes().data(), held->bytes().data());  // shared, not a copy
  auto stale_held = cache_->GetStored("stale");
  ASSERT_TRUE(stale_held.ok());
  EXPECT_NE(stale.article.bytes(), stale_held->bytes());
}

TEST_F(CachedArticleStoreTest, UpdatesAndDeletesAreVisibleAtOnce) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "Before", "e1")).ok());
  ASSERT_TRUE(cache_->Get("a").ok());
  ASSERT_TRUE(cache_->Replace(TitledArticle("a", "After", "e2"), "e1").ok());
  EXPECT_EQ(cache_->Get("a")->title(), "After");

  // A failed compare-and-set changes nothing.
  EXPECT_EQ(cache_->Replace(TitledArticle("a", "Lost", "e3"), "e1").code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(cache_->Get("a")->title(), "After");

  ASSERT_TRUE(cache_->Delete("a").ok());
  EXPECT_EQ(cache_->Get("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(cache_->GetStored("a").status().code(), absl::StatusCode::kNotFound);
  auto batch = cache_->BatchGet({"a"});
  ASSERT_TRUE(batch.ok());
  EXPECT_TRUE(batch->empty());
}

TEST_F(CachedArticleStoreTest, AReadRacingAWriteNeverCachesTheOldVersion) {
  ASSERT_TRUE(hooked_->Create(TitledArticle("a", "Old", "e1")).ok());  // stored, not yet cached
  hooked_->hook = [&] { ASSERT_TRUE(cache_->Replace(TitledArticle("a", "New", "e2"), "e1").ok()); };
  EXPECT_EQ(cache_->Get("a")->title(), "Old");  // this read started before the write
  EXPECT_EQ(cache_->Get("a")->title(), "New");  // and did not overwrite what the write cached
}

// Another writer (a replica sharing PostgreSQL) writes to the backend directly: `hooked_` here.
// The cache learns of its changes only through Invalidate, as the change listener announces them.
TEST_F(CachedArticleStoreTest, AnAnnouncedChangeDropsTheCachedCopy) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "Before", "e1")).ok());
  ASSERT_TRUE(cache_->Create(TitledArticle("b", "Other", "e1")).ok());
  ASSERT_TRUE(hooked_->Replace(TitledArticle("a", "After", "e2"), "e1").ok());
  EXPECT_EQ(cache_->Get("a")->title(), "Before");  // not announced yet: why announcements matter

  cache_->Invalidate("a");
  EXPECT_EQ(cache_->Get("a")->title(), "After");
  EXPECT_EQ(cache_->counters().entries, 2u);  // "b" stayed, "a" came back on its miss

  ASSERT_TRUE(hooked_->Delete("a").ok());
  ASSERT_TRUE(hooked_->Delete("b").ok());
  cache_->Invalidate("");  // every article
  EXPECT_EQ(cache_->counters().entries, 0u);
  EXPECT_EQ(cache_->Get("a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(cache_->Get("b").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(CachedArticleStoreTest, AReadThatBeganBeforeAnAnnouncedChangeIsNotCached) {
  ASSERT_TRUE(hooked_->Create(TitledArticle("a", "Old", "e1")).ok());
  hooked_->hook = [&] {
    ASSERT_TRUE(hooked_->Replace(TitledArticle("a", "New", "e2"), "e1").ok());
    cache_->Invalidate("a");
  };
  EXPECT_EQ(cache_->Get("a")->title(), "Old");  // read before the other writer's change
  EXPECT_EQ(cache_->Get("a")->title(), "New");  // and not kept past its announcement
}

TEST_F(CachedArticleStoreTest, AWriteRacingAnotherWritersAnnouncedChangeIsNotCached) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "First", "e1")).ok());
  // Between our commit and the cache's update, another writer commits a newer version and its
  // announcement arrives: what our write left must not be cached over it.
  hooked_->after_replace = [&] {
    ASSERT_TRUE(hooked_->Replace(TitledArticle("a", "Theirs", "e3"), "e2").ok());
    cache_->Invalidate("a");
  };
  ASSERT_TRUE(cache_->Replace(TitledArticle("a", "Ours", "e2"), "e1").ok());
  EXPECT_EQ(cache_->Get("a")->title(), "Theirs");
}

TEST_F(CachedArticleStoreTest, SuspendedItServesAndKeepsNothingUntilResumed) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "Before", "e1")).ok());
  ASSERT_TRUE(cache_->Get("a").ok());
  cache_->Suspend();
  EXPECT_TRUE(cache_->counters().suspended);
  EXPECT_EQ(cache_->counters().entries, 0u);

  // A change nobody announces (the listener was away) is seen at once: reads go to the backend.
  ASSERT_TRUE(hooked_->Replace(TitledArticle("a", "After", "e2"), "e1").ok());
  const auto misses = cache_->counters().misses;
  EXPECT_EQ(cache_->Get("a")->title(), "After");
  EXPECT_EQ(cache_->Get("a")->title(), "After");
  ASSERT_TRUE(cache_->Create(TitledArticle("b", "Written while suspended", "e1")).ok());
  EXPECT_EQ(cache_->counters().misses, misses + 2);
  EXPECT_EQ(cache_->counters().entries, 0u);

  cache_->Resume();
  EXPECT_FALSE(cache_->counters().suspended);
  EXPECT_EQ(cache_->Get("a")->title(), "After");  // a miss that fills
  const auto hits = cache_->counters().hits;
  EXPECT_EQ(cache_->Get("a")->title(), "After");
  EXPECT_EQ(cache_->counters().hits, hits + 1);
}

TEST_F(CachedArticleStoreTest, AReadBegunWhileSuspendedIsNotCachedOnceResumed) {
  ASSERT_TRUE(hooked_->Create(TitledArticle("a", "Title", "e1")).ok());
  cache_->Suspend();
  hooked_->hook = [&] { cache_->Resume(); };
  ASSERT_TRUE(cache_->Get("a").ok());
  EXPECT_EQ(cache_->counters().entries, 0u);  // it may predate a change that went unannounced
  ASSERT_TRUE(cache_->Get("a").ok());
  EXPECT_EQ(cache_->counters().entries, 1u);
}

const ListQuery kFrontPage{.limit = 10, .tag = "", .after = {}};

TEST_F(CachedArticleStoreTest, KeepsAListingUntilAWriteChangesIt) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "A", "e1")).ok());
  ASSERT_TRUE(cache_->Create(TitledArticle("b", "B", "e1")).ok());
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"B", "A"}));
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"B", "A"}));
  EXPECT_EQ(hooked_->lists, 1);
  EXPECT_EQ(cache_->counters().listing_hits, 1u);
  EXPECT_EQ(cache_->counters().listing_misses, 1u);
  EXPECT_EQ(cache_->counters().listing_entries, 1u);
  EXPECT_GT(cache_->counters().listing_bytes, 0u);

  ASSERT_TRUE(cache_->Replace(TitledArticle("a", "A2", "e2"), "e1").ok());
  EXPECT_EQ(cache_->counters().listing_entries, 0u);
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"B", "A2"}));
  ASSERT_TRUE(cache_->Create(TitledArticle("c", "C", "e1")).ok());
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"C", "B", "A2"}));
  ASSERT_TRUE(cache_->Delete("b").ok());
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"C", "A2"}));
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"C", "A2"}));
  EXPECT_EQ(hooked_->lists, 4);

  // A write that changed nothing in the store (a lost compare-and-set) keeps nothing stale either.
  EXPECT_EQ(cache_->Replace(TitledArticle("a", "Lost", "e3"), "e1").code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"C", "A2"}));
}

TEST_F(CachedArticleStoreTest, EachQueryIsAListingOfItsOwn) {
  for (const char* id : {"a", "b", "c"}) {
    v1::Article article = TitledArticle(id, id, "e1");
    if (std::string(id) != "b") article.add_tags("world");
    ASSERT_TRUE(cache_->Create(article).ok());
  }
  auto first = cache_->List({.limit = 2, .tag = "", .after = {}});
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_more);
  const ListQuery second_page{.limit = 2, .tag = "", .after = first->articles.back().position};
  const ListQuery world{.limit = 10, .tag = "world", .after = {}};
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(Titles({.limit = 2, .tag = "", .after = {}}), (std::vector<std::string>{"c", "b"}));
    EXPECT_EQ(Titles(second_page), (std::vector<std::string>{"a"}));
    EXPECT_EQ(Titles(world), (std::vector<std::string>{"c", "a"}));
    EXPECT_EQ(Titles({.limit = 1, .tag = "", .after = {}}), (std::vector<std::string>{"c"}));
  }
  EXPECT_EQ(hooked_->lists, 4) << "one backend read per distinct query";
  EXPECT_EQ(cache_->counters().listing_entries, 4u);

  auto kept = cache_->List(second_page);
  ASSERT_TRUE(kept.ok());
  EXPECT_FALSE(kept->has_more);
  EXPECT_EQ(kept->articles[0].position.article_id, "a");
}

TEST_F(CachedArticleStoreTest, AFailedListingIsNotKept) {
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(cache_->List({.limit = 0, .tag = "", .after = {}}).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(hooked_->lists, 2);
  EXPECT_EQ(cache_->counters().listing_entries, 0u);
}

// Another writer's change reaches the cache only through Invalidate, which names the article but
// not where it now stands: the next List reads that (one BatchGet) before serving any page.
TEST_F(CachedArticleStoreTest, AnAnnouncedChangeDropsTheListingsItAlters) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "A", "e1")).ok());
  ASSERT_TRUE(cache_->Create(TitledArticle("b", "B", "e1")).ok());
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"B", "A"}));
  ASSERT_TRUE(hooked_->Create(TitledArticle("c", "C", "e1")).ok());
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"B", "A"}));  // not announced yet

  cache_->Invalidate("c");
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"C", "B", "A"}));
  EXPECT_EQ(hooked_->batch_gets, 1);
  ASSERT_TRUE(hooked_->Delete("a").ok());
  cache_->Invalidate("a");  // listed: the page goes at once, with nothing left to read
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"C", "B"}));
  EXPECT_EQ(hooked_->batch_gets, 1);
  ASSERT_TRUE(hooked_->Create(TitledArticle("d", "D", "e1")).ok());
  cache_->Invalidate("");
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"D", "C", "B"}));
  EXPECT_EQ(hooked_->batch_gets, 1);
  EXPECT_EQ(hooked_->lists, 4);
}

// Pages answer for stretches of the listing order; a change outside a page's stretch and tag
// keeps it. Four articles of one publish time, so in id order: d c | b a.
TEST_F(CachedArticleStoreTest, AWriteKeepsTheListingsItCannotAlter) {
  for (const char* id : {"a", "b", "c", "d"}) {
    v1::Article article = TitledArticle(id, id, "e1");
    if (std::string(id) == "a" || std::string(id) == "d") article.add_tags("world");
    ASSERT_TRUE(cache_->Create(article).ok());
  }
  const ListQuery first{.limit = 2, .tag = "", .after = {}};
  const ListQuery world{.limit = 1, .tag = "world", .after = {}};
  const auto list_both = [&] {
    EXPECT_EQ(Titles(first), (std::vector<std::string>{"d", "c"}));
    EXPECT_EQ(Titles(world), (std::vector<std::string>{"d"}));
  };
  list_both();
  ASSERT_EQ(hooked_->lists, 2);

  // The first page's stretch ends at `b` (its next), the world page's at `a`. An article older
  // than both, untagged, alters neither.
  v1::Article old = TitledArticle("0", "0", "e1");
  old.mutable_publish_time()->set_seconds(1700000000);
  ASSERT_TRUE(cache_->Create(old).ok());
  list_both();
  EXPECT_EQ(hooked_->lists, 2) << "an article older than every page's stretch alters none";

  // `c` is on the first page only: the world page stays, and so does the page after `c`, whose
  // stretch starts after it.
  const ListQuery second{.limit = 1, .tag = "", .after = cache_->List(first)->articles[1].position};
  EXPECT_EQ(Titles(second), (std::vector<std::string>{"b"}));
  ASSERT_EQ(hooked_->lists, 3);
  ASSERT_TRUE(cache_->Replace(TitledArticle("c", "c2", "e2"), "e1").ok());
  EXPECT_EQ(Titles(world), (std::vector<std::string>{"d"}));
  EXPECT_EQ(Titles(second), (std::vector<std::string>{"b"}));
  EXPECT_EQ(hooked_->lists, 3);
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"d", "c2"}));
  EXPECT_EQ(hooked_->lists, 4);

  // `b` is the first page's next: its change may end the page's stretch elsewhere.
  ASSERT_TRUE(cache_->Delete("b").ok());
  EXPECT_EQ(Titles(world), (std::vector<std::string>{"d"}));
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"d", "c2"}));
  EXPECT_EQ(hooked_->lists, 5);
  // `a`, the world page's next, is untagged now: the world page goes, having no next any more.
  ASSERT_TRUE(cache_->Replace(TitledArticle("a", "a", "e2"), "e1").ok());
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"d", "c2"}));
  EXPECT_EQ(hooked_->lists, 6) << "`a` was the first page's next too, once `b` went";
  auto world_page = cache_->List(world);
  ASSERT_TRUE(world_page.ok());
  EXPECT_FALSE(world_page->has_more);
  EXPECT_EQ(hooked_->lists, 7);

  // A newer article moves into the first page's stretch, a tagged one into both.
  v1::Article newer = Newest(TitledArticle("e", "e", "e1"));
  newer.add_tags("world");
  ASSERT_TRUE(cache_->Create(newer).ok());
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"e", "d"}));
  EXPECT_EQ(Titles(world), (std::vector<std::string>{"e"}));
  EXPECT_EQ(hooked_->lists, 9);
}

TEST_F(CachedArticleStoreTest, AnAnnouncedChangeElsewhereKeepsTheListings) {
  CreateThrough({"a", "b", "c", "d"});
  const ListQuery first{.limit = 2, .tag = "", .after = {}};
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"d", "c"}));
  ASSERT_TRUE(hooked_->Replace(TitledArticle("a", "a2", "e2"), "e1").ok());
  cache_->Invalidate("a");
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"d", "c"}));
  EXPECT_EQ(hooked_->batch_gets, 1) << "where `a` stands now was read";
  EXPECT_EQ(hooked_->lists, 1) << "and is outside the page's stretch";
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"d", "c"}));
  EXPECT_EQ(hooked_->batch_gets, 1) << "once";

  // An announced change that moves `a` to the top.
  ASSERT_TRUE(hooked_->Replace(Newest(TitledArticle("a", "a3", "e3")), "e2").ok());
  cache_->Invalidate("a");
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"a3", "d"}));
  EXPECT_EQ(hooked_->batch_gets, 2);
  EXPECT_EQ(hooked_->lists, 2);
}

// Another List, while the first after an announced change reads where the article went, serves
// no page either: here it runs inside that read, on the same thread, so the read cannot end while
// it waits; after its wait (5 ms) it reads the store.
TEST_F(CachedArticleStoreTest, NoListingIsServedWhileAnAnnouncedChangeIsResolved) {
  CreateThrough({"a", "b", "c"});
  const ListQuery first{.limit = 1, .tag = "", .after = {}};
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"c"}));
  ASSERT_TRUE(hooked_->Replace(Newest(TitledArticle("a", "a2", "e2")), "e1").ok());
  cache_->Invalidate("a");
  std::vector<std::string> during;
  hooked_->batch_get_hook = [&] { during = Titles(first); };
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"a2"}));
  EXPECT_EQ(during, (std::vector<std::string>{"a2"}));
  EXPECT_EQ(hooked_->lists, 3);
}

// A change announced while an earlier one is being resolved is not lost with it: the resolution
// read the store before that change, so the article's new place is read in its turn. Here another
// writer moves `a` to the top during the resolution of `b`'s change, which moved nothing.
TEST_F(CachedArticleStoreTest, AChangeAnnouncedDuringAResolutionIsResolvedInItsTurn) {
  CreateThrough({"a", "b", "c", "d"});
  const ListQuery first{.limit = 1, .tag = "", .after = {}};
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"d"}));
  ASSERT_TRUE(hooked_->Replace(TitledArticle("b", "b2", "e2"), "e1").ok());
  cache_->Invalidate("b");
  hooked_->batch_get_hook = [&] {
    ASSERT_TRUE(hooked_->Replace(Newest(TitledArticle("a", "a2", "e2")), "e1").ok());
    cache_->Invalidate("a");
  };
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"a2"}));
  EXPECT_EQ(hooked_->batch_gets, 1) << "`b`'s change";
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"a2"}));
  EXPECT_EQ(hooked_->batch_gets, 2) << "`a`'s change, resolved by the next List";
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"a2"}));
  EXPECT_EQ(hooked_->batch_gets, 2);
  EXPECT_EQ(hooked_->lists, 3) << "the last listing served from memory";
}

// A List that arrives while another reads where an announced change moved the article waits for
// that read and is then served from memory, rather than read the store as well.
TEST_F(CachedArticleStoreTest, AListingDuringAResolutionWaitsForIt) {
  Build(absl::Minutes(1));  // a bound no scheduler delay reaches: the read ends the wait
  CreateThrough({"a", "b", "c", "d"});
  const ListQuery first{.limit = 2, .tag = "", .after = {}};
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"d", "c"}));
  ASSERT_TRUE(hooked_->Replace(TitledArticle("a", "a2", "e2"), "e1").ok());  // elsewhere
  cache_->Invalidate("a");
  std::thread other;
  std::vector<std::string> other_titles;
  bool other_waited = false;
  hooked_->batch_get_hook = [&] {
    other = std::thread([&] { other_titles = Titles(first); });
    // Not a timing: a bound on waiting for the other List to reach its wait, so that a cache that
    // never waits fails instead of hanging.
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!(other_waited = cache_->counters().listing_waits > 0) && absl::Now() < give_up) {
      std::this_thread::yield();
    }
  };
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"d", "c"}));
  other.join();
  EXPECT_TRUE(other_waited);
  EXPECT_EQ(other_titles, (std::vector<std::string>{"d", "c"}));
  EXPECT_EQ(hooked_->lists, 1) << "both served from memory";
  EXPECT_EQ(hooked_->batch_gets, 1);
}

// A resolution that takes longer than the wait's bound: the waiting List reads the store.
TEST_F(CachedArticleStoreTest, AListingWaitsForAResolutionOnlyUpToItsBound) {
  Build(absl::Milliseconds(1));
  CreateThrough({"a", "b", "c", "d"});
  const ListQuery first{.limit = 2, .tag = "", .after = {}};
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"d", "c"}));
  ASSERT_TRUE(hooked_->Replace(TitledArticle("a", "a2", "e2"), "e1").ok());
  cache_->Invalidate("a");
  std::vector<std::string> other_titles;
  hooked_->batch_get_hook = [&] {
    // The read does not end until the other List has given up waiting and read the store.
    std::thread other([&] { other_titles = Titles(first); });
    other.join();
  };
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"d", "c"}));
  EXPECT_EQ(other_titles, (std::vector<std::string>{"d", "c"}));
  EXPECT_EQ(cache_->counters().listing_waits, 1u);
  EXPECT_EQ(hooked_->lists, 2) << "the other List read the store";
}

TEST_F(CachedArticleStoreTest, AnAnnouncedChangeThatCannotBeResolvedDropsEveryListing) {
  CreateThrough({"a", "b", "c"});
  const ListQuery first{.limit = 1, .tag = "", .after = {}};
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"c"}));
  ASSERT_TRUE(hooked_->Replace(Newest(TitledArticle("a", "a2", "e2")), "e1").ok());
  cache_->Invalidate("a");
  hooked_->fail_batch_get = true;
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"a2"}));
  EXPECT_EQ(hooked_->batch_gets, 1);
  EXPECT_EQ(hooked_->lists, 2) << "not knowing where `a` went, no page was served";
  hooked_->fail_batch_get = false;
  EXPECT_EQ(Titles(first), (std::vector<std::string>{"a2"}));
  EXPECT_EQ(hooked_->lists, 2) << "the page read after the failure is kept";
  EXPECT_EQ(hooked_->batch_gets, 1);
}

// A page that says more follow but not where has no known end: any change may alter whether more
// follow, so any change drops it. (No store of ours returns one.)
TEST_F(CachedArticleStoreTest, APageWithoutAnEndGoesWithAnyChange) {
  CreateThrough({"a", "b", "c"});
  hooked_->strip_next = true;
  const ListQuery first{.limit = 2, .tag = "", .after = {}};
  auto page = cache_->List(first);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->has_more);
  ASSERT_TRUE(cache_->Delete("a").ok());  // after the page, and the only one
  page = cache_->List(first);
  ASSERT_TRUE(page.ok());
  EXPECT_FALSE(page->has_more);
  EXPECT_EQ(hooked_->lists, 2);
}

TEST_F(CachedArticleStoreTest, ABurstOfAnnouncedChangesDropsEveryListingWithoutReading) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "a", "e1")).ok());
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"a"}));
  for (int i = 0; i < 100; ++i) cache_->Invalidate("other" + std::to_string(i));
  EXPECT_EQ(cache_->counters().listing_entries, 0u);
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"a"}));
  EXPECT_EQ(hooked_->lists, 2);
  EXPECT_EQ(hooked_->batch_gets, 0);
}

// A page as a string: each listed article's position and bytes, whether more follow and where.
std::string Describe(const ArticlePage& page) {
  const auto position = [](const ListCursor& at) {
    return absl::StrCat(at.publish_time.seconds(), ".", at.publish_time.nanos(), "/",
                        at.article_id);
  };
  std::string text;
  for (const ListedArticle& listed : page.articles) {
    absl::StrAppend(&text, position(listed.position), "=", listed.article.bytes().size(), ":",
                    absl::CHexEscape(listed.article.bytes()), " ");
  }
  absl::StrAppend(&text, page.has_more ? "more" : "end");
  if (page.next) absl::StrAppend(&text, " next ", position(*page.next));
  return text;
}

// Random writes, ours and announced ones of another writer, between random listings: every page
// the cache serves is the page the store itself lists at that moment.
TEST_F(CachedArticleStoreTest, ListingsStayExactUnderRandomChanges) {
  std::mt19937 random(20261130);
  const auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(random); };
  const std::vector<std::string> tags = {"", "world", "sport"};
  std::map<std::string, std::string> etags;  // the articles that exist, and their etags
  std::vector<ListCursor> cursors;           // recent positions, some of them deleted since
  for (int step = 0; step < 6000; ++step) {
    const int op = pick(20);
    if (op < 5) {
      const std::string id = absl::StrCat("x", pick(24));
      v1::Article article = TitledArticle(id, absl::StrCat("t", step), absl::StrCat("e", step));
      article.mutable_publish_time()->set_seconds(1795000000 + pick(4));
      article.mutable_publish_time()->set_nanos(pick(2));
      for (const char* tag : {"world", "sport"}) {
        if (pick(2) == 0) article.add_tags(tag);
      }
      const bool ours = pick(2) == 0;
      ArticleStore& writer = ours ? static_cast<ArticleStore&>(*cache_) : *hooked_;
      absl::Status status;
      if (!etags.contains(id)) {
        status = writer.Create(article);
        etags[id] = article.etag();
      } else if (op == 0) {
        status = writer.Delete(id);
        etags.erase(id);
      } else {
        status = writer.Replace(article, etags[id]);
        etags[id] = article.etag();
      }
      ASSERT_TRUE(status.ok()) << status;
      if (!ours) cache_->Invalidate(pick(50) == 0 ? "" : id);
      continue;
    }
    ListQuery query{.limit = 1 + pick(4), .tag = tags[pick(3)], .after = {}};
    if (!cursors.empty() && pick(2) == 0) query.after = cursors[pick(cursors.size())];
    auto served = cache_->List(query);
    auto stored = hooked_->List(query);
    ASSERT_TRUE(served.ok() && stored.ok());
    ASSERT_EQ(Describe(*served), Describe(*stored)) << "step " << step;
    for (const ListedArticle& listed : served->articles) {
      if (cursors.size() == 6) cursors.erase(cursors.begin() + pick(6));
      cursors.push_back(listed.position);
    }
  }
  // Served from memory often enough that the comparison tested the cache, not the store.
  EXPECT_GT(cache_->counters().listing_hits, 600u) << cache_->counters().listing_hits;
}

TEST_F(CachedArticleStoreTest, AListingReadBeforeAnAnnouncedChangeIsNotKept) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "Old", "e1")).ok());
  hooked_->list_hook = [&] {
    ASSERT_TRUE(hooked_->Replace(TitledArticle("a", "New", "e2"), "e1").ok());
    cache_->Invalidate("a");
  };
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"Old"}));  // read before the change
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"New"}));  // and not kept past it
  EXPECT_EQ(hooked_->lists, 2);
}

TEST_F(CachedArticleStoreTest, AListingRacingOurOwnWriteIsNotKept) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "Old", "e1")).ok());
  hooked_->list_hook = [&] {
    ASSERT_TRUE(cache_->Replace(TitledArticle("a", "New", "e2"), "e1").ok());
  };
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"Old"}));
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"New"}));
}

TEST_F(CachedArticleStoreTest, SuspendedNoListingIsKept) {
  ASSERT_TRUE(cache_->Create(TitledArticle("a", "Before", "e1")).ok());
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"Before"}));
  cache_->Suspend();
  EXPECT_EQ(cache_->counters().listing_entries, 0u);
  ASSERT_TRUE(hooked_->Replace(TitledArticle("a", "After", "e2"), "e1").ok());  // unannounced
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"After"}));
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"After"}));
  EXPECT_EQ(hooked_->lists, 3);
  EXPECT_EQ(cache_->counters().listing_entries, 0u);

  cache_->Resume();
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"After"}));
  EXPECT_EQ(Titles(kFrontPage), (std::vector<std::string>{"After"}));
  EXPECT_EQ(hooked_->lists, 4);
}

TEST(CachedArticleStoreListingBoundTest, KeepsListingsWithinTheirBound) {
  auto sqlite = SqliteArticleStore::Open(":memory:");
  ASSERT_TRUE(sqlite.ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((*sqlite)
                    ->Create(TitledArticle("a" + std::to_string(i), std::string(1000, 't'), "e"))
                    .ok());
  }
  const auto page_bytes = [&](int limit) -> std::size_t {
    const ListQuery query{.limit = limit, .tag = "", .after = {}};
    auto page = (*sqlite)->List(query);
    return page.ok() ? ListingCache::PageBytes(query, *page) : 0;
  };
  EXPECT_GT(page_bytes(2), 2000u) << "a page counts its articles' bytes";

  // Room for a page of four but not of five, and so for two pages of two, not three.
  const std::size_t bound = (page_bytes(4) + page_bytes(5)) / 2;
  ASSERT_LE(2 * page_bytes(2), bound);
  ASSERT_GT(3 * page_bytes(2), bound);
  CachedArticleStore cache(*std::move(sqlite), {.article_bytes = 1 << 20, .listing_bytes = bound});
  for (int limit = 1; limit <= 5; ++limit) {
    for (int round = 0; round < 2; ++round) {
      auto page = cache.List({.limit = limit, .tag = "", .after = {}});
      ASSERT_TRUE(page.ok());
      EXPECT_EQ(page->articles.size(), std::size_t(limit));
      EXPECT_LE(cache.counters().listing_bytes, bound);
    }
  }
  // The page of four evicted the others, and the page of five, too large, evicted nothing.
  EXPECT_EQ(cache.counters().listing_entries, 1u);
  EXPECT_EQ(cache.counters().listing_hits, 4u) << "pages of 1 to 4 were kept for their second read";
}

// Listings read all the time (a front page) stay while a crawl of others comes and goes: a page
// served from the cache is marked, and gets a second chance.
TEST(CachedArticleStoreListingBoundTest, AFrontPageReadAllTheTimeStaysWhileACrawlComesAndGoes) {
  auto sqlite = SqliteArticleStore::Open(":memory:");
  ASSERT_TRUE(sqlite.ok());
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE((*sqlite)
                    ->Create(TitledArticle(absl::StrCat("a", 10 + i), std::string(200, 't'), "e"))
                    .ok());
  }
  const ListQuery front{.limit = 2, .tag = "", .after = {}};
  auto front_page = (*sqlite)->List(front);
  ASSERT_TRUE(front_page.ok());
  // Room for about four pages of two.
  const std::size_t bound = 4 * ListingCache::PageBytes(front, *front_page) + 100;
  CachedArticleStore cache(*std::move(sqlite), {.article_bytes = 1 << 20, .listing_bytes = bound});
  ASSERT_TRUE(cache.List(front).ok());  // a miss: kept
  // A crawl: each page once, from every article's cursor.
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(cache.List(front).ok());
    auto article = cache.Get(absl::StrCat("a", 10 + i));
    ASSERT_TRUE(article.ok());
    const ListQuery deep{.limit = 2,
                         .tag = "",
                         .after = ListCursor{.publish_time = article->publish_time(),
                                             .article_id = absl::StrCat("a", 10 + i)}};
    ASSERT_TRUE(cache.List(deep).ok());
    ASSERT_LE(cache.counters().listing_bytes, bound);
  }
  EXPECT_EQ(cache.counters().listing_hits, 30u) << "the front page was served from the cache";
  EXPECT_EQ(cache.counters().listing_misses, 31u);
  EXPECT_GE(cache.counters().listing_entries, 2u) << "the crawl's pages were kept too";
}

TEST(CachedArticleStoreListingBoundTest, NoBoundNoListings) {
  auto sqlite = SqliteArticleStore::Open(":memory:");
  ASSERT_TRUE(sqlite.ok());
  CachedArticleStore cache(*std::move(sqlite), {.article_bytes = 1 << 20, .listing_bytes = 0});
  ASSERT_TRUE(cache.Create(TitledArticle("a", "A", "e1")).ok());
  ASSERT_TRUE(cache.List(kFrontPage).ok());
  ASSERT_TRUE(cache.List(kFrontPage).ok());
  EXPECT_EQ(cache.counters().listing_hits, 0u);
  EXPECT_EQ(cache.counters().listing_misses, 0u);
  EXPECT_EQ(cache.counters().listing_entries, 0u);
}

TEST(CachedArticleStoreSuspendedTest, ACacheStartedSuspendedServesNothingUntilResumed) {
  auto sqlite = SqliteArticleStore::Open(":memory:");
  ASSERT_TRUE(sqlite.ok());
  CachedArticleStore cache(*std::move(sqlite), {.article_bytes = 1 << 20, .listing_bytes = 1 << 20},
                           /*suspended=*/true);
  ASSERT_TRUE(cache.Create(TitledArticle("a", "Title", "e1")).ok());
  ASSERT_TRUE(cache.Get("a").ok());
  EXPECT_EQ(cache.counters().entries, 0u);
  EXPECT_EQ(cache.counters().hits, 0u);
  cache.Resume();
  ASSERT_TRUE(cache.Get("a").ok());
  ASSERT_TRUE(cache.Get("a").ok());
  EXPECT_EQ(cache.counters().hits, 1u);
}

TEST(CachedArticleStoreBoundTest, KeepsWithinItsMemoryBound) {
  auto sqlite = SqliteArticleStore::Open(":memory:");
  ASSERT_TRUE(sqlite.ok());
  CachedArticleStore cache(*std::move(sqlite), {.article_bytes = 4096});
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(
        cache.Create(TitledArticle("a" + std::to_string(i), std::string(200, 't'), "e")).ok());
  }
  EXPECT_LE(cache.counters().bytes, 4096u);
  EXPECT_GT(cache.counters().entries, 0u);
  for (int i = 0; i < 100; ++i) {
    auto article = cache.Get("a" + std::to_string(i));
    ASSERT_TRUE(article.ok()) << i;  // evicted ones come back from the database
  }
}

// A listing reads the cache without marking what it finds (Find, not FindAndMark): a page of
// articles nobody viewed gives them no second chance.
TEST(CachedArticleStoreBoundTest, AListingGivesNoSecondChance) {
  // Three articles of one size fit, a fourth does not.
  std::size_t article_bytes = 0;
  {
    auto probe = SqliteArticleStore::Open(":memory:");
    ASSERT_TRUE(probe.ok());
    CachedArticleStore cache(*std::move(probe), {.article_bytes = 1 << 20});
    ASSERT_TRUE(cache.Create(TitledArticle("p", "p", "e")).ok());
    article_bytes = cache.counters().bytes;
  }
  auto sqlite = SqliteArticleStore::Open(":memory:");
  ASSERT_TRUE(sqlite.ok());
  CachedArticleStore cache(*std::move(sqlite), {.article_bytes = 3 * article_bytes + 1});
  // Cached oldest first: c, b, a. The listing's first article is c (descending ids).
  for (const char* id : {"c", "b", "a"}) ASSERT_TRUE(cache.Create(TitledArticle(id, id, "e")).ok());
  auto page = cache.List({.limit = 1});
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->articles.size(), 1u);
  EXPECT_EQ(page->articles[0].position.article_id, "c");
  ASSERT_TRUE(cache.Create(TitledArticle("d", "d", "e")).ok());  // evicts the oldest unread: c
  EXPECT_EQ(cache.counters().entries, 3u);
  ASSERT_TRUE(cache.GetStored("b").ok());
  EXPECT_EQ(cache.counters().misses, 0u);
  ASSERT_TRUE(cache.GetStored("c").ok());
  EXPECT_EQ(cache.counters().misses, 1u);
}

// Page views mark what they read (SecondChanceCache's second chance): an article viewed between
// every write of another stays cached, where eviction regardless of reads would drop it.
TEST(CachedArticleStoreBoundTest, AnArticleViewedAllTheTimeStaysWhileOthersComeAndGo) {
  auto sqlite = SqliteArticleStore::Open(":memory:");
  ASSERT_TRUE(sqlite.ok());
  CachedArticleStore cache(*std::move(sqlite), {.article_bytes = 4096});
  ASSERT_TRUE(cache.Create(TitledArticle("hot", std::string(200, 'h'), "e")).ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(cache.GetStored("hot").ok());
    ASSERT_TRUE(
        cache.Create(TitledArticle("a" + std::to_string(i), std::string(200, 't'), "e")).ok());
  }
  EXPECT_EQ(cache.counters().misses, 0u);
  EXPECT_EQ(cache.counters().hits, 100u);
  EXPECT_LE(cache.counters().bytes, 4096u);
  EXPECT_GT(cache.counters().entries, 1u) << "the others were kept too";
}

}  // namespace
}  // namespace newsroom::content
