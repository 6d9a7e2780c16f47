#include "analytics-service/src/watch_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "analytics-service/src/analytics_service.h"

namespace newsroom::analytics {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// "article:reads" for each update, to compare batches at a glance.
std::vector<std::string> Describe(const WatchHub::Batch& batch) {
  std::vector<std::string> out;
  for (const auto& update : batch.updates) {
    out.push_back(update.article_id + ":" + std::to_string(update.counts.reads));
  }
  return out;
}

ArticleCounts Reads(int64_t reads) { return {reads, reads}; }

TEST(WatchHubTest, SnapshotWaitsForEveryArticleThenComesInRequestOrder) {
  WatchHub hub(10);
  int wakes = 0;
  auto id = hub.Add({"b", "a", "b"}, [&] { ++wakes; });
  ASSERT_TRUE(id.ok());
  EXPECT_THAT(hub.UnknownArticles(), UnorderedElementsAre("a", "b"));
  EXPECT_TRUE(hub.Next(*id).updates.empty());  // nothing known yet: the writer goes idle

  hub.Publish({"a"}, {Reads(3)});
  EXPECT_EQ(wakes, 0);  // "b" is still unknown: no partial snapshot
  hub.Publish({"b"}, {Reads(7)});
  EXPECT_EQ(wakes, 1);
  EXPECT_THAT(Describe(hub.Next(*id)), ElementsAre("b:7", "a:3"));
  EXPECT_TRUE(hub.Next(*id).updates.empty());
  EXPECT_THAT(hub.UnknownArticles(), IsEmpty());
}

TEST(WatchHubTest, NewWatcherOfKnownArticlesGetsItsSnapshotAtOnce) {
  WatchHub hub(10);
  auto first = hub.Add({"a"}, [] {});
  hub.Publish({"a"}, {Reads(5)});
  auto second = hub.Add({"a"}, [] {});
  ASSERT_TRUE(second.ok());
  EXPECT_THAT(hub.UnknownArticles(), IsEmpty());
  EXPECT_THAT(Describe(hub.Next(*second)), ElementsAre("a:5"));
  EXPECT_THAT(Describe(hub.Next(*first)), ElementsAre("a:5"));
}

TEST(WatchHubTest, OnlyChangedArticlesAreFannedOutToTheirWatchers) {
  WatchHub hub(10);
  int wakes_ab = 0, wakes_b = 0;
  auto ab = hub.Add({"a", "b"}, [&] { ++wakes_ab; });
  auto b = hub.Add({"b"}, [&] { ++wakes_b; });
  hub.Publish({"a", "b"}, {Reads(1), Reads(1)});
  EXPECT_THAT(Describe(hub.Next(*ab)), ElementsAre("a:1", "b:1"));
  EXPECT_THAT(Describe(hub.Next(*b)), ElementsAre("b:1"));
  // Both writers are still active (a write in flight) until their next Next().
  EXPECT_TRUE(hub.Next(*ab).updates.empty());
  EXPECT_TRUE(hub.Next(*b).updates.empty());

  hub.Publish({"a", "b"}, {Reads(2), Reads(1)});  // only "a" changed
  EXPECT_EQ(wakes_ab, 1);
  EXPECT_EQ(wakes_b, 0);
  EXPECT_THAT(Describe(hub.Next(*ab)), ElementsAre("a:2"));
}

TEST(WatchHubTest, SlowWatcherGetsOnlyTheLatestCountsWhenItCatchesUp) {
  WatchHub hub(10);
  int wakes = 0;
  auto id = hub.Add({"a", "b"}, [&] { ++wakes; });
  hub.Publish({"a", "b"}, {Reads(0), Reads(0)});
  ASSERT_THAT(Describe(hub.Next(*id)), ElementsAre("a:0", "b:0"));  // a write now in flight
  for (int i = 1; i <= 1000; ++i) hub.Publish({"a", "b"}, {Reads(i), Reads(i / 2)});
  EXPECT_EQ(wakes, 0);  // never woken while its write is in flight
  // A thousand polls later it holds one entry per article, the latest.
  EXPECT_THAT(Describe(hub.Next(*id)), ElementsAre("a:1000", "b:500"));
  EXPECT_TRUE(hub.Next(*id).updates.empty());
}

TEST(WatchHubTest, IdleWatcherIsWokenOnceUntilItTakesItsBatch) {
  WatchHub hub(10);
  int wakes = 0;
  auto id = hub.Add({"a"}, [&] { ++wakes; });
  hub.Publish({"a"}, {Reads(1)});
  ASSERT_THAT(Describe(hub.Next(*id)), ElementsAre("a:1"));
  ASSERT_TRUE(hub.Next(*id).updates.empty());  // idle
  hub.Publish({"a"}, {Reads(2)});
  hub.Publish({"a"}, {Reads(3)});
  EXPECT_EQ(wakes, 1);
  EXPECT_THAT(Describe(hub.Next(*id)), ElementsAre("a:3"));
}

TEST(WatchHubTest, LimitRefusesWatchersUntilOneLeaves) {
  WatchHub hub(2);
  auto a = hub.Add({"a"}, [] {});
  auto b = hub.Add({"a"}, [] {});
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = hub.Add({"a"}, [] {});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  hub.Remove(*a);
  EXPECT_TRUE(hub.Add({"a"}, [] {}).ok());
  EXPECT_EQ(hub.watcher_count(), 2u);
}

TEST(WatchHubTest, RemovingTheLastWatcherStopsPollingTheArticle) {
  WatchHub hub(10);
  auto a = hub.Add({"a", "shared"}, [] {});
  auto b = hub.Add({"shared"}, [] {});
  EXPECT_THAT(hub.WatchedArticles(), UnorderedElementsAre("a", "shared"));
  hub.Remove(*a);
  EXPECT_THAT(hub.WatchedArticles(), ElementsAre("shared"));
  EXPECT_THAT(hub.UnknownArticles(), ElementsAre("shared"));
  hub.Remove(*b);
  EXPECT_THAT(hub.WatchedArticles(), IsEmpty());
  EXPECT_THAT(hub.UnknownArticles(), IsEmpty());
  EXPECT_FALSE(hub.WaitForUnknownArticles(absl::Now()));
  hub.Publish({"a"}, {Reads(1)});  // a fetch that raced the removal is ignored
  EXPECT_THAT(hub.WatchedArticles(), IsEmpty());
}

TEST(WatchHubTest, FailedSnapshotFetchEndsOnlyTheWatchersStillWaiting) {
  WatchHub hub(10);
  int wakes = 0;
  auto known = hub.Add({"a"}, [] {});
  hub.Publish({"a"}, {Reads(1)});
  ASSERT_FALSE(hub.Next(*known).updates.empty());
  auto waiting = hub.Add({"a", "b"}, [&] { ++wakes; });
  ASSERT_TRUE(hub.Next(*waiting).updates.empty());
  hub.FetchFailed({"b"}, absl::UnavailableError("redis down"));
  EXPECT_EQ(wakes, 1);
  auto batch = hub.Next(*waiting);
  ASSERT_TRUE(batch.finish.has_value());
  EXPECT_EQ(batch.finish->code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(hub.Next(*known).finish.has_value());
}

TEST(WatchHubTest, CloseEndsEveryWatcherAndRefusesNewOnes) {
  WatchHub hub(10);
  int wakes = 0;
  auto id = hub.Add({"a"}, [&] { ++wakes; });
  hub.Publish({"a"}, {Reads(1)});
  ASSERT_FALSE(hub.Next(*id).updates.empty());
  ASSERT_TRUE(hub.Next(*id).updates.empty());  // idle
  hub.Close(absl::UnavailableError("shutting down"));
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(hub.Next(*id).finish->code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(hub.Add({"a"}, [] {}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(hub.WaitForUnknownArticles(absl::InfiniteFuture()));  // returns at once
}

TEST(WatchHubTest, RemovedWatcherGetsEmptyBatches) {
  WatchHub hub(10);
  auto id = hub.Add({"a"}, [] {});
  hub.Remove(*id);
  auto batch = hub.Next(*id);
  EXPECT_TRUE(batch.updates.empty());
  EXPECT_FALSE(batch.finish.has_value());
}

TEST(WatchedArticleIdsTest, ValidatesCountAndNames) {
  v1::WatchReadStatsRequest request;
  EXPECT_EQ(WatchedArticleIds(request).status().code(), absl::StatusCode::kInvalidArgument);
  request.add_articles("articles/ok");
  request.add_articles("articles/Bad");
  auto bad = WatchedArticleIds(request);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), ::testing::StartsWith("articles[1]"));
  request.set_articles(1, "articles/fine");
  EXPECT_THAT(*WatchedArticleIds(request), ElementsAre("ok", "fine"));
  for (int i = 0; i < kMaxWatchedArticles; ++i) request.add_articles("articles/x");
  EXPECT_EQ(WatchedArticleIds(request).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace newsroom::analytics
