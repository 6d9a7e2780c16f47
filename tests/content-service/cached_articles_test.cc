#include "content-service/src/cached_articles.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace newsroom::content {
namespace {

// An article of `bytes` stored bytes, recognisable by its first character.
StoredArticle ArticleOf(std::size_t bytes, char fill = 'x') {
  return StoredArticle(std::string(bytes, fill));
}

// The ids in `ids` that the cache keeps.
std::vector<std::string> Kept(const CachedArticles& cache, const std::vector<std::string>& ids) {
  std::vector<std::string> kept;
  for (const std::string& id : ids) {
    if (cache.contains(id)) kept.push_back(id);
  }
  return kept;
}

TEST(CachedArticlesTest, FindsWhatItKeptAndCountsItsBytes) {
  CachedArticles cache(1000);
  cache.Insert("a", ArticleOf(100, 'a'));
  cache.Insert("b", ArticleOf(200, 'b'));
  ASSERT_NE(cache.Find("a"), nullptr);
  EXPECT_EQ(cache.Find("a")->bytes(), std::string(100, 'a'));
  ASSERT_NE(cache.FindAndMark("b"), nullptr);
  EXPECT_EQ(cache.FindAndMark("b")->bytes(), std::string(200, 'b'));
  EXPECT_EQ(cache.Find("c"), nullptr);
  EXPECT_EQ(cache.FindAndMark("c"), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.bytes(), 300u);

  cache.Insert("a", ArticleOf(50, 'A'));  // a new version replaces the old
  EXPECT_EQ(cache.Find("a")->bytes(), std::string(50, 'A'));
  EXPECT_EQ(cache.bytes(), 250u);
  cache.Erase("b");
  cache.Erase("never kept");
  EXPECT_EQ(Kept(cache, {"a", "b"}), std::vector<std::string>{"a"});
  EXPECT_EQ(cache.bytes(), 50u);
}

TEST(CachedArticlesTest, UnreadArticlesGoOldestFirst) {
  CachedArticles cache(300);
  for (const char* id : {"a", "b", "c"}) cache.Insert(id, ArticleOf(100));
  cache.Insert("d", ArticleOf(100));
  EXPECT_EQ(Kept(cache, {"a", "b", "c", "d"}), (std::vector<std::string>{"b", "c", "d"}));
  cache.Insert("e", ArticleOf(200));  // takes two to fit
  EXPECT_EQ(Kept(cache, {"b", "c", "d", "e"}), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(cache.bytes(), 300u);
}

TEST(CachedArticlesTest, AnArticleReadSinceItWasLastConsideredGetsASecondChance) {
  CachedArticles cache(300);
  for (const char* id : {"a", "b", "c"}) cache.Insert(id, ArticleOf(100));
  ASSERT_NE(cache.FindAndMark("a"), nullptr);
  cache.Insert("d", ArticleOf(100));  // a, read, goes to the back; b goes
  EXPECT_EQ(Kept(cache, {"a", "b", "c", "d"}), (std::vector<std::string>{"a", "c", "d"}));
  cache.Insert("e", ArticleOf(100));  // c, now the oldest; a stays
  EXPECT_EQ(Kept(cache, {"a", "c", "d", "e"}), (std::vector<std::string>{"a", "d", "e"}));
  cache.Insert("f", ArticleOf(100));  // a was not read again: it goes now
  EXPECT_EQ(Kept(cache, {"a", "d", "e", "f"}), (std::vector<std::string>{"d", "e", "f"}));
}

TEST(CachedArticlesTest, FindLeavesTheOrderAsItWas) {
  CachedArticles cache(200);
  cache.Insert("a", ArticleOf(100));
  cache.Insert("b", ArticleOf(100));
  ASSERT_NE(cache.Find("a"), nullptr);  // a listing's look, not a read
  cache.Insert("c", ArticleOf(100));
  EXPECT_EQ(Kept(cache, {"a", "b", "c"}), (std::vector<std::string>{"b", "c"}));
}

// The reason for the policy: an article read all the time stays, however many one-off reads bring
// in others.
TEST(CachedArticlesTest, AnArticleReadBetweenEveryMissIsNeverEvicted) {
  CachedArticles cache(1000);
  cache.Insert("hot", ArticleOf(100));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_NE(cache.FindAndMark("hot"), nullptr) << "evicted before one-off " << i;
    cache.Insert(absl::StrCat("one-off-", i), ArticleOf(100));
    ASSERT_LE(cache.bytes(), 1000u);
  }
  EXPECT_EQ(cache.size(), 10u);
}

TEST(CachedArticlesTest, EveryArticleReadStillMakesRoom) {
  CachedArticles cache(300);
  for (const char* id : {"a", "b", "c"}) cache.Insert(id, ArticleOf(100));
  for (const char* id : {"a", "b", "c"}) ASSERT_NE(cache.FindAndMark(id), nullptr);
  cache.Insert("d", ArticleOf(100));  // one full pass clears every mark, then a goes
  EXPECT_EQ(Kept(cache, {"a", "b", "c", "d"}), (std::vector<std::string>{"b", "c", "d"}));
}

TEST(CachedArticlesTest, KeepsNoArticleLargerThanItsBound) {
  CachedArticles cache(100);
  cache.Insert("a", ArticleOf(60));
  cache.Insert("huge", ArticleOf(101));
  EXPECT_EQ(Kept(cache, {"a", "huge"}), std::vector<std::string>{"a"});
  cache.Insert("a", ArticleOf(101));  // a version too large drops the old one
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  CachedArticles none(0);
  none.Insert("a", ArticleOf(1));
  EXPECT_EQ(none.size(), 0u);
}

TEST(CachedArticlesTest, TakeAllEmptiesItAndKeepsTheBound) {
  CachedArticles cache(200);
  cache.Insert("a", ArticleOf(100));
  cache.Insert("b", ArticleOf(100));
  ASSERT_NE(cache.FindAndMark("a"), nullptr);
  CachedArticles taken = cache.TakeAll();
  EXPECT_EQ(Kept(taken, {"a", "b"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(taken.Find("b")->bytes().size(), 100u);  // the moved entries are still indexed
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  cache.Insert("c", ArticleOf(100));
  cache.Insert("d", ArticleOf(100));
  cache.Insert("e", ArticleOf(100));
  EXPECT_EQ(Kept(cache, {"c", "d", "e"}), (std::vector<std::string>{"d", "e"}));
}

TEST(CachedArticlesTest, AMovedFromCacheIsEmptyAndStillUsable) {
  CachedArticles cache(200);
  cache.Insert("a", ArticleOf(100));
  CachedArticles moved(std::move(cache));
  EXPECT_EQ(moved.bytes(), 100u);
  EXPECT_EQ(cache.size(), 0u);  // NOLINT(bugprone-use-after-move): what the test checks
  EXPECT_EQ(cache.bytes(), 0u);
  for (const char* id : {"b", "c", "d"}) cache.Insert(id, ArticleOf(100));
  EXPECT_EQ(Kept(cache, {"b", "c", "d"}), (std::vector<std::string>{"c", "d"}));
  cache = std::move(moved);
  EXPECT_EQ(Kept(cache, {"a", "c", "d"}), std::vector<std::string>{"a"});
  EXPECT_EQ(moved.bytes(), 0u);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace newsroom::content
