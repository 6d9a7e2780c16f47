#include "analytics-service/src/analytics_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "analytics-service/src/page_token.h"

namespace newsroom::analytics {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// 2024-03-10T12:00:00Z.
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2024, 3, 10, 12, 0, 0), absl::UTCTimeZone());
constexpr absl::CivilDay kToday(2024, 3, 10);

// Remembers what it was asked and answers synchronously with canned results.
class FakeReadCounter final : public ReadCounter {
 public:
  struct Calls {
    std::vector<std::vector<Read>> records;
    std::vector<std::vector<std::string>> gets;
    std::vector<RankingQuery> ranks;
  };

  explicit FakeReadCounter(Calls* calls) : calls_(calls) {}

  void Record(std::vector<Read> reads, Callback<std::vector<RecordOutcome>> done) override {
    std::vector<RecordOutcome> outcomes(reads.size(), RecordOutcome{{7, 3}, false});
    calls_->records.push_back(std::move(reads));
    std::move(done)(std::move(outcomes));
  }
  void Get(std::vector<std::string> ids, Callback<std::vector<ArticleCounts>> done) override {
    std::vector<ArticleCounts> counts(ids.size(), ArticleCounts{5, 2});
    calls_->gets.push_back(std::move(ids));
    std::move(done)(std::move(counts));
  }
  void Rank(RankingQuery query, Callback<RankingPage> done) override {
    calls_->ranks.push_back(query);
    RankingPage page;
    for (int64_t i = 0; i < query.limit && query.offset + i < 25; ++i) {
      page.articles.push_back({absl::StrCat("a", query.offset + i), 100 - query.offset - i});
    }
    page.has_more = query.offset + query.limit < 25;
    std::move(done)(std::move(page));
  }

 private:
  Calls* calls_;
};

class AnalyticsServiceTest : public ::testing::Test {
 protected:
  AnalyticsServiceTest()
      : service_(std::make_unique<FakeReadCounter>(&calls_), ReaderHasher("key"),
                 [] { return kNow; }) {}

  // Runs a method and returns what it passed to `done` (the fake answers synchronously).
  template <typename Response, typename Request>
  absl::StatusOr<Response> Call(void (AnalyticsService::*method)(const Request&,
                                                                 Callback<Response>),
                                const Request& request) {
    std::optional<absl::StatusOr<Response>> result;
    (service_.*method)(request, [&](absl::StatusOr<Response> r) { result = std::move(r); });
    EXPECT_TRUE(result.has_value());
    return *std::move(result);
  }

  static v1::RecordReadRequest ValidRead() {
    v1::RecordReadRequest request;
    request.set_article("articles/hello-world");
    request.set_read_id("read-1");
    request.set_reader_id("reader@example.com");
    return request;
  }

  FakeReadCounter::Calls calls_;
  AnalyticsService service_;
};

TEST(PeriodDaysTest, EndsWithTodayOldestFirst) {
  EXPECT_THAT(*PeriodDays(v1::PERIOD_ALL_TIME, kToday), IsEmpty());
  EXPECT_THAT(*PeriodDays(v1::PERIOD_UNSPECIFIED, kToday), IsEmpty());
  EXPECT_THAT(*PeriodDays(v1::PERIOD_LAST_DAY, kToday), ElementsAre(kToday));
  const std::vector<absl::CivilDay> week = *PeriodDays(v1::PERIOD_LAST_7_DAYS, kToday);
  ASSERT_EQ(week.size(), 7u);
  EXPECT_EQ(week.front(), absl::CivilDay(2024, 3, 4));
  EXPECT_EQ(week.back(), kToday);
  const std::vector<absl::CivilDay> month = *PeriodDays(v1::PERIOD_LAST_30_DAYS, kToday);
  ASSERT_EQ(month.size(), 30u);
  EXPECT_EQ(month.front(), absl::CivilDay(2024, 2, 10));  // across a leap day
  EXPECT_EQ(month.back(), kToday);
}

TEST(PeriodDaysTest, RejectsUnknownPeriod) {
  EXPECT_EQ(PeriodDays(static_cast<v1::Period>(99), kToday).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RankingDayTest, ReadsOlderThanTheLongestPeriodAreNotRanked) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_EQ(RankingDay(kNow, kToday), kToday);
  EXPECT_EQ(RankingDay(absl::FromCivil(absl::CivilDay(2024, 3, 11), utc), kToday),
            absl::CivilDay(2024, 3, 11));  // a few minutes into tomorrow
  EXPECT_EQ(RankingDay(absl::FromCivil(kToday - 29, utc), kToday), kToday - 29);
  EXPECT_EQ(RankingDay(absl::FromCivil(kToday - 29, utc) + absl::Hours(23), kToday), kToday - 29);
  EXPECT_EQ(RankingDay(absl::FromCivil(kToday - 30, utc) + absl::Hours(23), kToday), std::nullopt);
  EXPECT_EQ(RankingDay(absl::UnixEpoch(), kToday), std::nullopt);
}

TEST_F(AnalyticsServiceTest, RecordReadPassesAHashedReaderAndTheReadDay) {
  v1::RecordReadRequest request = ValidRead();
  absl::StatusOr<v1::ReadStats> stats = Call(&AnalyticsService::RecordRead, request);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->article(), "articles/hello-world");
  EXPECT_EQ(stats->reads(), 7);
  EXPECT_EQ(stats->unique_readers(), 3);
  ASSERT_EQ(calls_.records.size(), 1u);
  const Read& read = calls_.records[0][0];
  EXPECT_EQ(read.article_id, "hello-world");
  EXPECT_EQ(read.read_id, "read-1");
  EXPECT_EQ(read.reader_hash, ReaderHasher("key").Hash("reader@example.com"));
  EXPECT_EQ(read.reader_hash.size(), 32u);
  EXPECT_EQ(read.ranking_day, kToday);

  request.clear_reader_id();
  request.mutable_read_time()->set_seconds(absl::ToUnixSeconds(kNow - absl::Hours(24 * 40)));
  ASSERT_TRUE(Call(&AnalyticsService::RecordRead, request).ok());
  EXPECT_EQ(calls_.records[1][0].reader_hash, "");
  EXPECT_EQ(calls_.records[1][0].ranking_day, std::nullopt);
}

TEST_F(AnalyticsServiceTest, RecordReadRejectsBadFieldsByName) {
  const absl::Time soon = kNow + absl::Minutes(5);
  const struct {
    std::function<void(v1::RecordReadRequest&)> mutate;
    std::string message_prefix;
  } cases[] = {
      {[](auto& r) { r.clear_article(); }, "article: is required"},
      {[](auto& r) { r.set_article("hello-world"); }, "article: must be"},
      {[](auto& r) { r.set_article("articles/Hello"); }, "article: must be"},
      {[](auto& r) { r.clear_read_id(); }, "read_id: is required"},
      {[](auto& r) { r.set_read_id("a b"); }, "read_id: may only"},
      {[](auto& r) { r.set_read_id(std::string(129, 'x')); }, "read_id: must be at most"},
      {[](auto& r) { r.set_reader_id(std::string(257, 'x')); }, "reader_id: must be at most"},
      {[](auto& r) { r.set_reader_id("a\nb"); }, "reader_id: must be a single line"},
      {[](auto& r) { r.set_reader_id("\xff"); }, "reader_id: must be valid UTF-8"},
      {[](auto& r) { r.mutable_read_time()->set_seconds(-1); }, "read_time: must not be before"},
      {[](auto& r) { r.mutable_read_time()->set_nanos(-1); }, "read_time: is not a valid"},
      {[](auto& r) { r.mutable_read_time()->set_nanos(1'000'000'000); }, "read_time: is not a"},
      {[](auto& r) { r.mutable_read_time()->set_seconds(253402300800); }, "read_time: is not a"},
      {[&](auto& r) { r.mutable_read_time()->set_seconds(absl::ToUnixSeconds(soon) + 1); },
       "read_time: must not be more than 5 minutes in the future"},
  };
  for (const auto& c : cases) {
    v1::RecordReadRequest request = ValidRead();
    c.mutate(request);
    absl::StatusOr<v1::ReadStats> stats = Call(&AnalyticsService::RecordRead, request);
    EXPECT_EQ(stats.status().code(), absl::StatusCode::kInvalidArgument) << c.message_prefix;
    EXPECT_THAT(std::string(stats.status().message()), ::testing::StartsWith(c.message_prefix));
  }
  EXPECT_THAT(calls_.records, IsEmpty());
}

TEST_F(AnalyticsServiceTest, RecordReadAcceptsEdgeTimes) {
  v1::RecordReadRequest request = ValidRead();
  request.mutable_read_time()->set_seconds(absl::ToUnixSeconds(kNow + absl::Minutes(5)));
  EXPECT_TRUE(Call(&AnalyticsService::RecordRead, request).ok());
  request.mutable_read_time()->set_seconds(0);
  EXPECT_TRUE(Call(&AnalyticsService::RecordRead, request).ok());
}

TEST_F(AnalyticsServiceTest, BatchRecordReadsValidatesEveryReadBeforeRecordingAny) {
  v1::BatchRecordReadsRequest request;
  *request.add_requests() = ValidRead();
  *request.add_requests() = ValidRead();
  request.mutable_requests(1)->set_read_id("bad id");
  absl::StatusOr<v1::BatchRecordReadsResponse> response =
      Call(&AnalyticsService::BatchRecordReads, request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("requests[1].read_id"));
  EXPECT_THAT(calls_.records, IsEmpty());

  request.mutable_requests(1)->set_read_id("read-2");
  response = Call(&AnalyticsService::BatchRecordReads, request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->stats_size(), 2);
  EXPECT_EQ(calls_.records.at(0).size(), 2u);
}

TEST_F(AnalyticsServiceTest, BatchesMustHoldOneToAThousandEntries) {
  v1::BatchRecordReadsRequest reads;
  EXPECT_EQ(Call(&AnalyticsService::BatchRecordReads, reads).status().code(),
            absl::StatusCode::kInvalidArgument);
  for (int i = 0; i < 1001; ++i) *reads.add_requests() = ValidRead();
  EXPECT_THAT(std::string(Call(&AnalyticsService::BatchRecordReads, reads).status().message()),
              HasSubstr("requests:"));
  reads.mutable_requests()->RemoveLast();
  EXPECT_TRUE(Call(&AnalyticsService::BatchRecordReads, reads).ok());

  v1::BatchGetReadStatsRequest gets;
  EXPECT_EQ(Call(&AnalyticsService::BatchGetReadStats, gets).status().code(),
            absl::StatusCode::kInvalidArgument);
  for (int i = 0; i < 1001; ++i) gets.add_articles("articles/a");
  EXPECT_THAT(std::string(Call(&AnalyticsService::BatchGetReadStats, gets).status().message()),
              HasSubstr("articles:"));
}

TEST_F(AnalyticsServiceTest, BatchGetReadStatsKeepsRequestOrderAndNamesBadEntries) {
  v1::BatchGetReadStatsRequest request;
  request.add_articles("articles/b");
  request.add_articles("articles/a");
  request.add_articles("articles/b");
  absl::StatusOr<v1::BatchGetReadStatsResponse> response =
      Call(&AnalyticsService::BatchGetReadStats, request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->stats_size(), 3);
  EXPECT_EQ(response->stats(0).article(), "articles/b");
  EXPECT_EQ(response->stats(1).article(), "articles/a");
  EXPECT_EQ(response->stats(2).article(), "articles/b");
  EXPECT_THAT(calls_.gets.at(0), ElementsAre("b", "a", "b"));

  request.add_articles("nope");
  EXPECT_THAT(std::string(Call(&AnalyticsService::BatchGetReadStats, request).status().message()),
              ::testing::StartsWith("articles[3]: "));
}

TEST_F(AnalyticsServiceTest, GetReadStatsNamesTheArticleField) {
  v1::GetReadStatsRequest request;
  request.set_article("articles/");
  EXPECT_THAT(std::string(Call(&AnalyticsService::GetReadStats, request).status().message()),
              ::testing::StartsWith("article: "));
  request.set_article("articles/x");
  absl::StatusOr<v1::ReadStats> stats = Call(&AnalyticsService::GetReadStats, request);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->reads(), 5);
}

TEST_F(AnalyticsServiceTest, ListTopArticlesPagesWithTokens) {
  v1::ListTopArticlesRequest request;
  request.set_period(v1::PERIOD_LAST_7_DAYS);
  std::vector<std::string> seen;
  int pages = 0;
  do {
    absl::StatusOr<v1::ListTopArticlesResponse> response =
        Call(&AnalyticsService::ListTopArticles, request);
    ASSERT_TRUE(response.ok()) << response.status();
    for (const auto& article : response->articles()) seen.push_back(article.article());
    request.set_page_token(response->next_page_token());
    ++pages;
  } while (!request.page_token().empty());
  EXPECT_EQ(pages, 3);  // default page size 10 over 25 entries
  ASSERT_EQ(seen.size(), 25u);
  EXPECT_EQ(seen.front(), "articles/a0");
  EXPECT_EQ(seen.back(), "articles/a24");
  EXPECT_EQ(calls_.ranks.at(0).days.size(), 7u);
  EXPECT_EQ(calls_.ranks.at(0).days.back(), kToday);
  EXPECT_EQ(calls_.ranks.at(1).offset, 10);
  EXPECT_EQ(calls_.ranks.at(2).limit, 10);
}

TEST_F(AnalyticsServiceTest, ListTopArticlesPageSizeBounds) {
  v1::ListTopArticlesRequest request;
  request.set_page_size(5000);
  ASSERT_TRUE(Call(&AnalyticsService::ListTopArticles, request).ok());
  EXPECT_EQ(calls_.ranks.back().limit, 1000);
  EXPECT_THAT(calls_.ranks.back().days, IsEmpty());  // unspecified = all time

  request.set_page_size(-1);
  absl::StatusOr<v1::ListTopArticlesResponse> response =
      Call(&AnalyticsService::ListTopArticles, request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(response.status().message()), ::testing::StartsWith("page_size: "));
}

TEST_F(AnalyticsServiceTest, ListTopArticlesRejectsForeignOrForgedTokens) {
  v1::ListTopArticlesRequest request;
  request.set_period(v1::PERIOD_LAST_DAY);
  request.set_page_token(EncodePageToken(v1::PERIOD_ALL_TIME, 10));
  EXPECT_THAT(std::string(Call(&AnalyticsService::ListTopArticles, request).status().message()),
              ::testing::StartsWith("page_token: "));
  request.set_page_token("forged");
  EXPECT_EQ(Call(&AnalyticsService::ListTopArticles, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A token from an unspecified-period listing continues an all-time one.
  request.set_period(v1::PERIOD_UNSPECIFIED);
  request.set_page_token(EncodePageToken(v1::PERIOD_ALL_TIME, 10));
  EXPECT_TRUE(Call(&AnalyticsService::ListTopArticles, request).ok());
  EXPECT_THAT(calls_.ranks, ::testing::SizeIs(1));
}

TEST(ReaderHasherTest, IsKeyedAndDeterministic) {
  const ReaderHasher a("key-a");
  const ReaderHasher b("key-b");
  EXPECT_EQ(a.Hash("reader"), a.Hash("reader"));
  EXPECT_NE(a.Hash("reader"), b.Hash("reader"));
  EXPECT_NE(a.Hash("reader"), a.Hash("reader2"));
  EXPECT_EQ(a.Hash(""), "");
  EXPECT_EQ(a.Hash("reader").find("reader"), std::string::npos);
}

}  // namespace
}  // namespace newsroom::analytics
