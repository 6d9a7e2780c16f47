#include "analytics-service/src/change_feed_poller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "tests/support/waiting.h"

namespace newsroom::analytics {
namespace {

using ::testing::ElementsAre;

// A change log in which "big" (5000 reads, a readers count kept at 4000 while the current count
// is 4100) and "small" (3 reads) change once, then nothing more. Called from the poller's thread.
class ScriptedReadCounter final : public ReadCounter {
 public:
  void Record(std::vector<Read>, Callback<std::vector<RecordOutcome>> done) override {
    std::move(done)(absl::UnimplementedError("not in this test"));
  }
  void Rank(RankingQuery, Callback<RankingPage> done) override {
    std::move(done)(absl::UnimplementedError("not in this test"));
  }
  void ChangedSince(std::optional<int64_t> from, Callback<ChangedArticles> done) override {
    absl::MutexLock lock(&mu_);
    ChangedArticles changed{.log_id = "log", .head = from.has_value() ? 1 : 0};
    if (from == 1) changed.article_ids = {"big", "small"};
    std::move(done)(std::move(changed));
  }
  void GetRecent(std::vector<std::string> ids, Callback<std::vector<ArticleCounts>> done) override {
    std::move(done)(Counts(ids, /*kept_readers=*/4000));
  }
  void Get(std::vector<std::string> ids, Callback<std::vector<ArticleCounts>> done) override {
    {
      absl::MutexLock lock(&mu_);
      counted_now_.insert(counted_now_.end(), ids.begin(), ids.end());
    }
    std::move(done)(Counts(ids, /*kept_readers=*/4100));
  }

  // The articles counted afresh (Get) so far.
  std::vector<std::string> counted_now() {
    absl::MutexLock lock(&mu_);
    return counted_now_;
  }

 private:
  static std::vector<ArticleCounts> Counts(const std::vector<std::string>& ids,
                                           int64_t big_readers) {
    std::vector<ArticleCounts> counts;
    for (const std::string& id : ids) {
      counts.push_back(id == "big" ? ArticleCounts{5000, big_readers} : ArticleCounts{3, 3});
    }
    return counts;
  }

  absl::Mutex mu_;
  std::vector<std::string> counted_now_ ABSL_GUARDED_BY(mu_);
};

// Once quiet for `settle.after`, an article with a count that may be kept is counted afresh and
// sent again when that differs; one with fewer reads than a count is kept from is not counted
// again, nor sent again.
TEST(ChangeFeedPollerTest, OnlyAQuietArticleWhoseCountMayBeKeptIsCountedAgain) {
  ChangeFeedHub hub(10);
  absl::StatusOr<ChangeFeedHub::Id> stream = hub.Add([] {});
  ASSERT_TRUE(stream.ok());
  ScriptedReadCounter counter;
  std::map<std::string, std::vector<int64_t>> sent;  // each article's readers, per message
  {
    ChangeFeedPoller poller(&hub, &counter, absl::Milliseconds(10),
                            {.after = absl::Milliseconds(50), .from_reads = 1000});
    // Both changed in the same poll, so both would be due in the same later one.
    EXPECT_TRUE(testing::Eventually([&] {
      for (const auto& update : hub.Next(*stream).updates) {
        sent[update.article_id].push_back(update.counts.unique_readers);
      }
      return !sent["big"].empty() && sent["big"].back() == 4100;
    }));
  }
  EXPECT_THAT(sent["small"], ElementsAre(3));
  EXPECT_THAT(counter.counted_now(), ElementsAre("big"));
}

}  // namespace
}  // namespace newsroom::analytics
