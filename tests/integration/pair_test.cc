// The pair end to end: content-service and analytics-service as real processes, a real
// redis-server, real gRPC channels on loopback.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cmath>
#include <set>
#include <thread>

#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "tests/integration/pair_fixture.h"

namespace newsroom::testing {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::google::protobuf::util::TimeUtil;

class PairTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pair_ = new NewsroomPair(); }
  static void TearDownTestSuite() {
    delete pair_;
    pair_ = nullptr;
  }

  // Creates an article with a unique id and returns its name.
  static std::string Create(const std::string& id, content_v1::Article article) {
    content_v1::CreateArticleRequest request;
    request.set_article_id(id);
    *request.mutable_article() = std::move(article);
    content_v1::Article created;
    const grpc::Status status = pair_->content().CreateArticle(Context().get(), request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created.name();
  }

  static grpc::Status Read(const std::string& name, const std::string& reader,
                           const std::string& read_id, content_v1::Article* out) {
    content_v1::ReadArticleRequest request;
    request.set_name(name);
    request.set_reader_id(reader);
    request.set_read_id(read_id);
    return pair_->content().ReadArticle(Context().get(), request, out);
  }

  static content_v1::Article Get(const std::string& name) {
    content_v1::GetArticleRequest request;
    request.set_name(name);
    content_v1::Article article;
    const grpc::Status status = pair_->content().GetArticle(Context().get(), request, &article);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return article;
  }

  static NewsroomPair* pair_;
};

NewsroomPair* PairTest::pair_ = nullptr;

TEST_F(PairTest, ConcurrentReadsAreCountedExactlyAndEachSeesItsOwnIncrement) {
  const std::string name = Create("concurrent", SampleArticle("Concurrent reads"));
  constexpr int kClients = 8;
  constexpr int kReadsPerClient = 40;
  std::mutex mutex;
  std::multiset<std::int64_t> seen_counts;
  std::atomic<int> failures = 0;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = 0; i < kReadsPerClient; ++i) {
        content_v1::Article article;
        const auto status = Read(name, "reader-" + std::to_string(c),
                                 "c" + std::to_string(c) + "-" + std::to_string(i), &article);
        if (!status.ok() || !article.has_read_stats()) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mutex);
        seen_counts.insert(article.read_stats().reads());
      }
    });
  }
  for (auto& client : clients) client.join();
  ASSERT_EQ(failures, 0);
  // One atomic step per read: the counts returned are exactly 1..N, each once.
  std::multiset<std::int64_t> expected;
  for (int n = 1; n <= kClients * kReadsPerClient; ++n) expected.insert(n);
  EXPECT_EQ(seen_counts, expected);
  const auto stats = Get(name).read_stats();
  EXPECT_EQ(stats.reads(), kClients * kReadsPerClient);
  EXPECT_EQ(stats.unique_readers(), kClients);
}

TEST_F(PairTest, UniqueReadersStayWithinHyperLogLogError) {
  const std::string name = Create("unique-readers", SampleArticle("Unique readers"));
  constexpr int kDistinctReaders = 1500;
  int read_number = 0;
  for (int r = 0; r < kDistinctReaders; ++r) {
    // Some readers come back: repeat visits add reads, not readers.
    for (int visit = 0; visit < (r % 3 == 0 ? 2 : 1); ++visit) {
      content_v1::Article article;
      ASSERT_TRUE(
          Read(name, "reader-" + std::to_string(r), "u" + std::to_string(read_number++), &article)
              .ok());
    }
  }
  EXPECT_EQ(Get(name).read_stats().reads(), read_number);
  // Past 1000 readers a read, and the change feed, return the count analytics kept from up to a
  // second before, which misses the readers since. Once that second has passed with no read, the
  // change feed brings content-service the current count: GetArticle's estimate meets the one
  // GetReadStats counts, within the HyperLogLog's error of the truth (Redis's has a 0.81% standard
  // error; 3% is far beyond any plausible deviation).
  analytics_v1::GetReadStatsRequest request;
  request.set_article(name);
  analytics_v1::ReadStats counted;
  std::int64_t served = 0;
  EXPECT_TRUE(newsroom::testing::Eventually(
      [&] {
        counted.Clear();
        EXPECT_TRUE(pair_->analytics().GetReadStats(Context().get(), request, &counted).ok());
        served = Get(name).read_stats().unique_readers();
        return served == counted.unique_readers() &&
               std::abs(static_cast<double>(served - kDistinctReaders)) <= kDistinctReaders * 0.03;
      },
      std::chrono::seconds(10)))
      << served << " served, " << counted.unique_readers() << " counted, " << kDistinctReaders
      << " distinct readers";
}

TEST_F(PairTest, ARepeatedReadIdCountsOnce) {
  const std::string name = Create("retried", SampleArticle("Retried read"));
  for (int attempt = 0; attempt < 3; ++attempt) {
    content_v1::Article article;
    ASSERT_TRUE(Read(name, "reader", "same-read-id", &article).ok());
    EXPECT_EQ(article.read_stats().reads(), 1);
  }
  content_v1::Article article;
  ASSERT_TRUE(Read(name, "reader", "", &article).ok());  // no read_id: content makes a fresh one
  EXPECT_EQ(article.read_stats().reads(), 2);
  ASSERT_TRUE(Read(name, "reader", "", &article).ok());
  EXPECT_EQ(article.read_stats().reads(), 3);
}

TEST_F(PairTest, ACallWithoutDeadlineStillGetsItsStats) {
  const std::string name = Create("no-deadline", SampleArticle("No deadline"));
  content_v1::ReadArticleRequest request;
  request.set_name(name);
  request.set_read_id("no-deadline-1");
  grpc::ClientContext context;  // no deadline: content-service's own budget applies
  content_v1::Article article;
  ASSERT_TRUE(pair_->content().ReadArticle(&context, request, &article).ok());
  ASSERT_TRUE(article.has_read_stats());
  EXPECT_EQ(article.read_stats().reads(), 1);
}

TEST_F(PairTest, GetAndListNeverCount) {
  const std::string name = Create("not-counted", SampleArticle("Not counted"));
  content_v1::Article article;
  ASSERT_TRUE(Read(name, "reader", "only-read", &article).ok());
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Get(name).read_stats().reads(), 1);
    content_v1::ListArticlesRequest request;
    request.set_tag("test");
    request.set_page_size(100);
    content_v1::ListArticlesResponse response;
    ASSERT_TRUE(pair_->content().ListArticles(Context().get(), request, &response).ok());
  }
  EXPECT_EQ(Get(name).read_stats().reads(), 1);
}

TEST_F(PairTest, EveryTextFieldRoundTripsByteExact) {
  const content_v1::Article sent = SampleArticle(
      "\xd0\x97\xd0\xb0\xd0\xb3\xd0\xbe\xd0\xbb\xd0\xbe"
      "\xd0\xb2\xd0\xbe\xd0\xba \xf0\x9f\x8c\x8d it's");
  const std::string name = Create("utf8-round-trip", sent);
  const content_v1::Article got = Get(name);
  content_v1::Article comparable = got;
  comparable.clear_name();
  comparable.clear_create_time();
  comparable.clear_update_time();
  comparable.clear_publish_time();
  comparable.clear_etag();
  comparable.clear_read_stats();
  EXPECT_TRUE(MessageDifferencer::Equals(comparable, sent)) << comparable.DebugString();
  EXPECT_EQ(got.lead_image().credit(), sent.lead_image().credit());
  EXPECT_EQ(got.body(), sent.body());
  EXPECT_FALSE(got.etag().empty());
  EXPECT_TRUE(got.has_create_time());
  EXPECT_EQ(got.publish_time(), got.create_time());  // defaulted
}

struct BadCall {
  std::string label;
  std::function<grpc::Status(content_v1::ContentService::Stub&)> call;
  grpc::StatusCode code;
  std::string field;  // the message must start with "<field>:" when not empty
};

std::vector<BadCall> BadCalls() {
  const auto get = [](std::string name) {
    return [name](content_v1::ContentService::Stub& stub) {
      content_v1::GetArticleRequest request;
      request.set_name(name);
      content_v1::Article response;
      return stub.GetArticle(Context().get(), request, &response);
    };
  };
  const auto create = [](std::string id, content_v1::Article article) {
    return [id, article](content_v1::ContentService::Stub& stub) {
      content_v1::CreateArticleRequest request;
      request.set_article_id(id);
      *request.mutable_article() = article;
      content_v1::Article response;
      return stub.CreateArticle(Context().get(), request, &response);
    };
  };
  const auto list = [](int page_size, std::string token, std::string tag) {
    return [=](content_v1::ContentService::Stub& stub) {
      content_v1::ListArticlesRequest request;
      request.set_page_size(page_size);
      request.set_page_token(token);
      request.set_tag(tag);
      content_v1::ListArticlesResponse response;
      return stub.ListArticles(Context().get(), request, &response);
    };
  };
  const auto read = [](std::string name, std::string reader, std::string read_id) {
    return [=](content_v1::ContentService::Stub& stub) {
      content_v1::ReadArticleRequest request;
      request.set_name(name);
      request.set_reader_id(reader);
      request.set_read_id(read_id);
      content_v1::Article response;
      return stub.ReadArticle(Context().get(), request, &response);
    };
  };
  content_v1::Article no_title = SampleArticle("x");
  no_title.clear_title();
  content_v1::Article huge_body = SampleArticle("x");
  huge_body.set_body(std::string(200001, 'b'));
  const auto I = grpc::StatusCode::INVALID_ARGUMENT;
  return {
      {"empty_name", get(""), I, "name"},
      {"name_without_collection", get("city-library"), I, "name"},
      {"name_upper", get("articles/City"), I, "name"},
      {"name_crlf", get("articles/a\r\nb"), I, "name"},
      {"name_nul", get(std::string("articles/a\0b", 12)), I, "name"},
      {"name_percent", get("articles/a%20b"), I, "name"},
      {"unknown_article", get("articles/no-such-article"), grpc::StatusCode::NOT_FOUND, ""},
      {"missing_title", create("no-title", no_title), I, "article.title"},
      {"oversize_body", create("huge", huge_body), I, "article.body"},
      {"bad_article_id", create("Bad Id", SampleArticle("x")), I, "article_id"},
      {"duplicate_create", create("concurrent", SampleArticle("again")),
       grpc::StatusCode::ALREADY_EXISTS, ""},
      {"negative_page_size", list(-1, "", ""), I, "page_size"},
      {"forged_page_token", list(10, "Zm9yZ2Vk", ""), I, "page_token"},
      {"bad_tag", list(10, "", "Not A Tag"), I, "tag"},
      {"read_bad_read_id", read("articles/concurrent", "r", "has space"), I, "read_id"},
      {"read_long_reader", read("articles/concurrent", std::string(257, 'r'), "ok"), I,
       "reader_id"},
      {"read_unknown", read("articles/missing", "r", "ok"), grpc::StatusCode::NOT_FOUND, ""},
  };
}

TEST_F(PairTest, BadInputGetsAClearStatusNamingTheField) {
  Create("concurrent-dup-target", SampleArticle("target"));
  for (const BadCall& bad : BadCalls()) {
    const grpc::Status status = bad.call(pair_->content());
    EXPECT_EQ(status.error_code(), bad.code) << bad.label << ": " << status.error_message();
    if (!bad.field.empty()) {
      EXPECT_EQ(status.error_message().substr(0, bad.field.size() + 1), bad.field + ":")
          << bad.label << ": " << status.error_message();
    }
  }
  EXPECT_EQ(HealthOf(pair_->content_channel(), ""), "SERVING");  // nothing crashed it
}

TEST_F(PairTest, InvalidUtf8IsRefusedWithoutHarm) {
  // protobuf rejects a proto3 string that is not UTF-8 while parsing the request, before our
  // validation runs, so gRPC answers with its own status rather than INVALID_ARGUMENT naming the
  // field (mapping that is the hostile-input work). What matters here: refused, nothing stored,
  // service unharmed.
  content_v1::CreateArticleRequest request;
  request.set_article_id("bad-utf8");
  *request.mutable_article() = SampleArticle("x");
  request.mutable_article()->mutable_lead_image()->set_credit("bad \xff utf-8");
  content_v1::Article created;
  EXPECT_FALSE(pair_->content().CreateArticle(Context().get(), request, &created).ok());
  content_v1::GetArticleRequest get;
  get.set_name("articles/bad-utf8");
  EXPECT_EQ(pair_->content().GetArticle(Context().get(), get, &created).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(HealthOf(pair_->content_channel(), ""), "SERVING");
}

TEST_F(PairTest, ListArticlesPagesNewestFirstWithStatsAndTagFilter) {
  for (int i = 0; i < 7; ++i) {
    content_v1::Article article = SampleArticle("Paged " + std::to_string(i));
    article.clear_tags();
    article.add_tags("paging");
    *article.mutable_publish_time() = TimeUtil::SecondsToTimestamp(1790000000 + i * 60);
    Create("paged-" + std::to_string(i), article);
  }
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    content_v1::ListArticlesRequest request;
    request.set_tag("paging");
    request.set_page_size(3);
    request.set_page_token(token);
    content_v1::ListArticlesResponse response;
    ASSERT_TRUE(pair_->content().ListArticles(Context().get(), request, &response).ok());
    for (const auto& article : response.articles()) {
      names.push_back(article.name());
      EXPECT_TRUE(article.has_read_stats()) << article.name();
    }
    token = response.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  const std::vector<std::string> expected{
      "articles/paged-6", "articles/paged-5", "articles/paged-4", "articles/paged-3",
      "articles/paged-2", "articles/paged-1", "articles/paged-0"};
  EXPECT_EQ(names, expected);
}

TEST_F(PairTest, UpdateAndDeleteKeepTheStoreExact) {
  const std::string name = Create("edited", SampleArticle("Before"));
  content_v1::UpdateArticleRequest update;
  update.mutable_article()->set_name(name);
  update.mutable_article()->set_title("After");
  update.mutable_update_mask()->add_paths("title");
  content_v1::Article updated;
  ASSERT_TRUE(pair_->content().UpdateArticle(Context().get(), update, &updated).ok());
  EXPECT_EQ(Get(name).title(), "After");

  update.mutable_article()->set_etag("stale-etag");
  EXPECT_EQ(pair_->content().UpdateArticle(Context().get(), update, &updated).error_code(),
            grpc::StatusCode::ABORTED);

  content_v1::DeleteArticleRequest remove;
  remove.set_name(name);
  google::protobuf::Empty empty;
  ASSERT_TRUE(pair_->content().DeleteArticle(Context().get(), remove, &empty).ok());
  EXPECT_EQ(pair_->content().DeleteArticle(Context().get(), remove, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);
  content_v1::GetArticleRequest get;
  get.set_name(name);
  content_v1::Article article;
  EXPECT_EQ(pair_->content().GetArticle(Context().get(), get, &article).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// Records `reads` reads of `article` straight into analytics, `days_ago` UTC days back.
void RecordPastReads(analytics_v1::AnalyticsService::Stub& analytics, const std::string& article,
                     int reads, int days_ago) {
  analytics_v1::BatchRecordReadsRequest batch;
  const auto when = TimeUtil::GetCurrentTime() - TimeUtil::HoursToDuration(24 * days_ago);
  for (int i = 0; i < reads; ++i) {
    auto* read = batch.add_requests();
    read->set_article(article);
    read->set_read_id(article.substr(9) + "-past-" + std::to_string(days_ago) + "-" +
                      std::to_string(i));
    *read->mutable_read_time() = when;
  }
  analytics_v1::BatchRecordReadsResponse response;
  const auto status = analytics.BatchRecordReads(Context().get(), batch, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

std::vector<std::pair<std::string, std::int64_t>> MostRead(content_v1::ContentService::Stub& stub,
                                                           analytics_v1::Period period) {
  content_v1::ListMostReadArticlesRequest request;
  request.set_period(period);
  request.set_page_size(100);
  content_v1::ListMostReadArticlesResponse response;
  const auto status = stub.ListMostReadArticles(Context().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::vector<std::pair<std::string, std::int64_t>> ranked;
  for (const auto& entry : response.articles()) {
    // Only this test's articles: the suite shares one pair.
    if (entry.article().name().find("/ranked-") == std::string::npos) continue;
    ranked.emplace_back(entry.article().name(), entry.reads());
  }
  return ranked;
}

TEST_F(PairTest, MostReadArticlesRankByPeriodAndSkipDeletedArticles) {
  const std::string today = Create("ranked-today", SampleArticle("Read today"));
  const std::string week = Create("ranked-week", SampleArticle("Read this week"));
  const std::string month = Create("ranked-month", SampleArticle("Read this month"));
  const std::string gone = Create("ranked-deleted", SampleArticle("Deleted"));
  RecordPastReads(pair_->analytics(), today, 3, 0);
  RecordPastReads(pair_->analytics(), week, 5, 3);
  RecordPastReads(pair_->analytics(), month, 8, 20);
  RecordPastReads(pair_->analytics(), month, 1, 40);  // beyond every period but all time
  RecordPastReads(pair_->analytics(), gone, 50, 0);
  content_v1::DeleteArticleRequest remove;
  remove.set_name(gone);
  google::protobuf::Empty empty;
  ASSERT_TRUE(pair_->content().DeleteArticle(Context().get(), remove, &empty).ok());

  using Ranking = std::vector<std::pair<std::string, std::int64_t>>;
  EXPECT_EQ(MostRead(pair_->content(), analytics_v1::PERIOD_LAST_DAY), (Ranking{{today, 3}}));
  EXPECT_EQ(MostRead(pair_->content(), analytics_v1::PERIOD_LAST_7_DAYS),
            (Ranking{{week, 5}, {today, 3}}));
  EXPECT_EQ(MostRead(pair_->content(), analytics_v1::PERIOD_LAST_30_DAYS),
            (Ranking{{month, 8}, {week, 5}, {today, 3}}));
  EXPECT_EQ(MostRead(pair_->content(), analytics_v1::PERIOD_ALL_TIME),
            (Ranking{{month, 9}, {week, 5}, {today, 3}}));
  EXPECT_EQ(MostRead(pair_->content(), analytics_v1::PERIOD_UNSPECIFIED),
            MostRead(pair_->content(), analytics_v1::PERIOD_ALL_TIME));

  content_v1::ListMostReadArticlesRequest negative;
  negative.set_page_size(-1);
  content_v1::ListMostReadArticlesResponse response;
  EXPECT_EQ(
      pair_->content().ListMostReadArticles(Context().get(), negative, &response).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
}

TEST(MostReadTest, DeletedArticlesAreSkippedAcrossRankingPages) {
  NewsroomPair pair;  // its own ranking, untouched by the other tests
  // 20 articles; article i has 100 + i reads. The 14 most read are then deleted, more than one
  // ranking page's slack, so content-service has to page through the ranking.
  for (int i = 0; i < 20; ++i) {
    const std::string id = "multi-" + std::to_string(i);
    content_v1::CreateArticleRequest create;
    create.set_article_id(id);
    *create.mutable_article() = SampleArticle("Multi " + std::to_string(i));
    content_v1::Article created;
    ASSERT_TRUE(pair.content().CreateArticle(Context().get(), create, &created).ok());
    RecordPastReads(pair.analytics(), created.name(), 100 + i, 0);
  }
  for (int i = 6; i < 20; ++i) {
    content_v1::DeleteArticleRequest remove;
    remove.set_name("articles/multi-" + std::to_string(i));
    google::protobuf::Empty empty;
    ASSERT_TRUE(pair.content().DeleteArticle(Context().get(), remove, &empty).ok());
  }
  content_v1::ListMostReadArticlesRequest request;
  request.set_page_size(4);
  content_v1::ListMostReadArticlesResponse response;
  ASSERT_TRUE(pair.content().ListMostReadArticles(Context().get(), request, &response).ok());
  std::vector<std::string> names;
  for (const auto& entry : response.articles()) names.push_back(entry.article().name());
  const std::vector<std::string> expected{"articles/multi-5", "articles/multi-4",
                                          "articles/multi-3", "articles/multi-2"};
  EXPECT_EQ(names, expected);
  ASSERT_EQ(response.articles_size(), 4);
  EXPECT_EQ(response.articles(0).reads(), 105);
  EXPECT_EQ(response.articles(0).article().read_stats().reads(), 105);
}

}  // namespace
}  // namespace newsroom::testing
