#include "content-service/src/second_chance_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace newsroom::content {
namespace {

using Cache = SecondChanceCache<std::string, std::string>;

// The keys in `keys` that the cache keeps.
std::vector<std::string> Kept(const Cache& cache, const std::vector<std::string>& keys) {
  std::vector<std::string> kept;
  for (const std::string& key : keys) {
    if (cache.contains(key)) kept.push_back(key);
  }
  return kept;
}

TEST(SecondChanceCacheTest, FindsWhatItKeptAndCountsItsBytes) {
  Cache cache(1000);
  cache.Insert("a", "value a", 100);
  cache.Insert("b", "value b", 200);
  ASSERT_NE(cache.Find(absl::string_view("a")), nullptr);
  EXPECT_EQ(*cache.Find(absl::string_view("a")), "value a");
  ASSERT_NE(cache.FindAndMark(absl::string_view("b")), nullptr);
  EXPECT_EQ(*cache.FindAndMark(std::string("b")), "value b");
  EXPECT_EQ(cache.Find(absl::string_view("c")), nullptr);
  EXPECT_EQ(cache.FindAndMark(absl::string_view("c")), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.bytes(), 300u);

  cache.Insert("a", "new a", 50);  // a new version replaces the old
  EXPECT_EQ(*cache.Find(absl::string_view("a")), "new a");
  EXPECT_EQ(cache.bytes(), 250u);
  cache.Erase(absl::string_view("b"));
  cache.Erase(absl::string_view("never kept"));
  EXPECT_EQ(Kept(cache, {"a", "b"}), std::vector<std::string>{"a"});
  EXPECT_EQ(cache.bytes(), 50u);
}

TEST(SecondChanceCacheTest, UnreadEntriesGoOldestFirst) {
  Cache cache(300);
  for (const char* key : {"a", "b", "c"}) cache.Insert(key, key, 100);
  cache.Insert("d", "d", 100);
  EXPECT_EQ(Kept(cache, {"a", "b", "c", "d"}), (std::vector<std::string>{"b", "c", "d"}));
  cache.Insert("e", "e", 200);  // takes two to fit
  EXPECT_EQ(Kept(cache, {"b", "c", "d", "e"}), (std::vector<std::string>{"d", "e"}));
  EXPECT_EQ(cache.bytes(), 300u);
}

TEST(SecondChanceCacheTest, AnEntryReadSinceItWasLastConsideredGetsASecondChance) {
  Cache cache(300);
  for (const char* key : {"a", "b", "c"}) cache.Insert(key, key, 100);
  ASSERT_NE(cache.FindAndMark(absl::string_view("a")), nullptr);
  cache.Insert("d", "d", 100);  // a, read, goes to the back; b goes
  EXPECT_EQ(Kept(cache, {"a", "b", "c", "d"}), (std::vector<std::string>{"a", "c", "d"}));
  cache.Insert("e", "e", 100);  // c, now the oldest; a stays
  EXPECT_EQ(Kept(cache, {"a", "c", "d", "e"}), (std::vector<std::string>{"a", "d", "e"}));
  cache.Insert("f", "f", 100);  // a was not read again: it goes now
  EXPECT_EQ(Kept(cache, {"a", "d", "e", "f"}), (std::vector<std::string>{"d", "e", "f"}));
}

TEST(SecondChanceCacheTest, FindLeavesTheOrderAsItWas) {
  Cache cache(200);
  cache.Insert("a", "a", 100);
  cache.Insert("b", "b", 100);
  ASSERT_NE(cache.Find(absl::string_view("a")), nullptr);  // a look, not a read
  cache.Insert("c", "c", 100);
  EXPECT_EQ(Kept(cache, {"a", "b", "c"}), (std::vector<std::string>{"b", "c"}));
}

// The reason for the policy: what is read all the time stays, however many one-off reads bring in
// others.
TEST(SecondChanceCacheTest, AnEntryReadBetweenEveryMissIsNeverEvicted) {
  Cache cache(1000);
  cache.Insert("hot", "hot", 100);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_NE(cache.FindAndMark(absl::string_view("hot")), nullptr)
        << "evicted before one-off " << i;
    cache.Insert(absl::StrCat("one-off-", i), "x", 100);
    ASSERT_LE(cache.bytes(), 1000u);
  }
  EXPECT_EQ(cache.size(), 10u);
}

TEST(SecondChanceCacheTest, EveryEntryReadStillMakesRoom) {
  Cache cache(300);
  for (const char* key : {"a", "b", "c"}) cache.Insert(key, key, 100);
  for (const char* key : {"a", "b", "c"}) {
    ASSERT_NE(cache.FindAndMark(absl::string_view(key)), nullptr);
  }
  cache.Insert("d", "d", 100);  // one full pass clears every mark, then a goes
  EXPECT_EQ(Kept(cache, {"a", "b", "c", "d"}), (std::vector<std::string>{"b", "c", "d"}));
}

TEST(SecondChanceCacheTest, KeepsNoEntryLargerThanItsBound) {
  Cache cache(100);
  cache.Insert("a", "a", 60);
  cache.Insert("huge", "huge", 101);
  EXPECT_EQ(Kept(cache, {"a", "huge"}), std::vector<std::string>{"a"});
  cache.Insert("a", "a2", 101);  // a version too large drops the old one
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  Cache none(0);
  none.Insert("a", "a", 1);
  EXPECT_EQ(none.size(), 0u);
  Cache some(100);
  some.Insert("empty", "", 0);  // counted as nothing, it would escape the bound: not kept
  EXPECT_EQ(some.size(), 0u);
}

TEST(SecondChanceCacheTest, AReplacedEntryGoesToTheBackUnread) {
  Cache cache(300);
  for (const char* key : {"a", "b", "c"}) cache.Insert(key, key, 100);
  ASSERT_NE(cache.FindAndMark(absl::string_view("b")), nullptr);
  cache.Insert("a", "a2", 100);  // queue: b (read), c, a2
  cache.Insert("d", "d", 100);   // b gets its chance; c goes
  EXPECT_EQ(Kept(cache, {"a", "b", "c", "d"}), (std::vector<std::string>{"a", "b", "d"}));
  cache.Insert("e", "e", 100);  // a2, unread since replaced, goes
  EXPECT_EQ(Kept(cache, {"a", "b", "d", "e"}), (std::vector<std::string>{"b", "d", "e"}));
}

TEST(SecondChanceCacheTest, TakeIfTakesOutWhatMatchesAndKeepsTheOrderOfTheRest) {
  Cache cache(400);
  for (const char* key : {"a", "b", "c", "d"}) cache.Insert(key, absl::StrCat("value ", key), 100);
  std::vector<std::string> taken;
  cache.TakeIf([](const std::string& key, const std::string&) { return key == "a" || key == "c"; },
               taken);
  EXPECT_EQ(taken, (std::vector<std::string>{"value a", "value c"}));
  EXPECT_EQ(Kept(cache, {"a", "b", "c", "d"}), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(cache.bytes(), 200u);
  for (const char* key : {"e", "f", "g"}) cache.Insert(key, key, 100);  // b goes, the oldest left
  EXPECT_EQ(Kept(cache, {"b", "d", "e", "f", "g"}), (std::vector<std::string>{"d", "e", "f", "g"}));
  // The rest keep their marks; taking everything leaves nothing counted.
  ASSERT_NE(cache.FindAndMark(absl::string_view("d")), nullptr);
  taken.clear();
  cache.TakeIf([](const std::string& key, const std::string&) { return key == "e"; }, taken);
  cache.Insert("h", "h", 100);
  cache.Insert("i", "i", 100);  // d, read, gets its chance: f goes
  EXPECT_EQ(Kept(cache, {"d", "f", "g", "h", "i"}), (std::vector<std::string>{"d", "g", "h", "i"}));
  cache.TakeIf([](const std::string&, const std::string&) { return true; }, taken);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(SecondChanceCacheTest, TakeAllEmptiesItAndKeepsTheBound) {
  Cache cache(200);
  cache.Insert("a", "a", 100);
  cache.Insert("b", "b", 100);
  ASSERT_NE(cache.FindAndMark(absl::string_view("a")), nullptr);
  Cache taken = cache.TakeAll();
  EXPECT_EQ(Kept(taken, {"a", "b"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*taken.Find(absl::string_view("b")), "b");  // the moved entries are still indexed
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  for (const char* key : {"c", "d", "e"}) cache.Insert(key, key, 100);
  EXPECT_EQ(Kept(cache, {"c", "d", "e"}), (std::vector<std::string>{"d", "e"}));
}

TEST(SecondChanceCacheTest, AMovedFromCacheIsEmptyAndStillUsable) {
  Cache cache(200);
  cache.Insert("a", "a", 100);
  Cache moved(std::move(cache));
  EXPECT_EQ(moved.bytes(), 100u);
  EXPECT_EQ(cache.size(), 0u);  // NOLINT(bugprone-use-after-move): what the test checks
  EXPECT_EQ(cache.bytes(), 0u);
  for (const char* key : {"b", "c", "d"}) cache.Insert(key, key, 100);
  EXPECT_EQ(Kept(cache, {"b", "c", "d"}), (std::vector<std::string>{"c", "d"}));
  cache = std::move(moved);
  EXPECT_EQ(Kept(cache, {"a", "c", "d"}), std::vector<std::string>{"a"});
  ASSERT_NE(cache.Find(absl::string_view("a")), nullptr);  // the moved index reaches the entries
  EXPECT_EQ(*cache.Find(absl::string_view("a")), "a");
  cache.Insert("e", "e", 200);  // evicts a through the moved queue and index
  EXPECT_EQ(Kept(cache, {"a", "e"}), std::vector<std::string>{"e"});
  EXPECT_EQ(cache.bytes(), 200u);
  EXPECT_EQ(moved.bytes(), 0u);  // NOLINT(bugprone-use-after-move)
}

}  // namespace
}  // namespace newsroom::content
