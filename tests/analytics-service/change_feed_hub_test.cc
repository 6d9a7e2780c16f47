#include "analytics-service/src/change_feed_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace newsroom::analytics {
namespace {

using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

// "article:reads" for each update.
std::vector<std::string> Describe(const ChangeFeedHub::Batch& batch) {
  std::vector<std::string> out;
  for (const auto& update : batch.updates) {
    out.push_back(update.article_id + ":" + std::to_string(update.counts.reads));
  }
  return out;
}

ArticleCounts Reads(int64_t reads) { return {reads, reads}; }

TEST(ChangeFeedHubTest, EveryPublishGivesEveryStreamAMessageEvenWhenNothingChanged) {
  ChangeFeedHub hub(10);
  int wakes = 0;
  auto id = hub.Add([&] { ++wakes; });
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(hub.Next(*id).has_message());  // nothing before the first poll: writer idles

  hub.Publish({}, {});
  EXPECT_EQ(wakes, 1);
  ChangeFeedHub::Batch batch = hub.Next(*id);
  EXPECT_TRUE(batch.has_message());  // a heartbeat
  EXPECT_THAT(batch.updates, IsEmpty());
  EXPECT_FALSE(hub.Next(*id).has_message());

  hub.Publish({"a", "b"}, {Reads(2), Reads(1)});
  EXPECT_EQ(wakes, 2);
  EXPECT_THAT(Describe(hub.Next(*id)), UnorderedElementsAre("a:2", "b:1"));
}

TEST(ChangeFeedHubTest, ASlowStreamGetsChangesCoalescedPerArticle) {
  ChangeFeedHub hub(10);
  int wakes = 0;
  auto id = hub.Add([&] { ++wakes; });
  ASSERT_TRUE(id.ok());
  ASSERT_FALSE(hub.Next(*id).has_message());
  hub.Publish({"a"}, {Reads(1)});
  hub.Publish({"a", "b"}, {Reads(5), Reads(1)});
  hub.Publish({"a"}, {Reads(4)});  // a slower poll's older count never replaces a newer one
  EXPECT_EQ(wakes, 1);             // woken once; the writer was busy after that
  EXPECT_THAT(Describe(hub.Next(*id)), UnorderedElementsAre("a:5", "b:1"));
}

TEST(ChangeFeedHubTest, AStreamTooFarBehindIsEndedAndOthersCarryOn) {
  ChangeFeedHub hub(10, /*max_pending_articles=*/2);
  auto slow = hub.Add([] {});
  auto fast = hub.Add([] {});
  ASSERT_TRUE(slow.ok() && fast.ok());
  ASSERT_FALSE(hub.Next(*slow).has_message());
  ASSERT_FALSE(hub.Next(*fast).has_message());
  hub.Publish({"a", "b"}, {Reads(1), Reads(1)});
  EXPECT_THAT(Describe(hub.Next(*fast)), UnorderedElementsAre("a:1", "b:1"));
  hub.Publish({"c"}, {Reads(1)});
  const ChangeFeedHub::Batch ended = hub.Next(*slow);
  ASSERT_TRUE(ended.finish.has_value());
  EXPECT_EQ(ended.finish->code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Describe(hub.Next(*fast)), UnorderedElementsAre("c:1"));
}

TEST(ChangeFeedHubTest, EndAllEndsOpenStreamsButAcceptsNewOnes) {
  ChangeFeedHub hub(10);
  int wakes = 0;
  auto id = hub.Add([&] { ++wakes; });
  ASSERT_TRUE(id.ok());
  ASSERT_FALSE(hub.Next(*id).has_message());
  hub.EndAll(absl::UnavailableError("Redis is unreachable"));
  EXPECT_EQ(wakes, 1);
  const ChangeFeedHub::Batch batch = hub.Next(*id);
  ASSERT_TRUE(batch.finish.has_value());
  EXPECT_EQ(batch.finish->code(), absl::StatusCode::kUnavailable);
  hub.Remove(*id);

  auto next = hub.Add([] {});
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(hub.Next(*next).finish.has_value());
}

TEST(ChangeFeedHubTest, BoundsStreamsAndRefusesAfterClose) {
  ChangeFeedHub hub(1);
  auto first = hub.Add([] {});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(hub.Add([] {}).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(hub.WaitForStreams(absl::Now()));
  hub.Remove(*first);
  EXPECT_FALSE(hub.WaitForStreams(absl::Now()));
  hub.Close(absl::UnavailableError("shutting down"));
  EXPECT_EQ(hub.Add([] {}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(hub.closed());
}

}  // namespace
}  // namespace newsroom::analytics
