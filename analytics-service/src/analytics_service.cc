#include "analytics-service/src/analytics_service.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "analytics-service/src/page_token.h"
#include "common/src/status_macros.h"
#include "common/src/validation.h"

namespace newsroom::analytics {
namespace {

// google.protobuf.Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
constexpr int64_t kMaxTimestampSeconds = 253402300799;

absl::Status InvalidReadTime(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

v1::ReadStats ToReadStats(absl::string_view article, const ArticleCounts& counts) {
  v1::ReadStats stats;
  stats.set_article(std::string(article));
  stats.set_reads(counts.reads);
  stats.set_unique_readers(counts.unique_readers);
  return stats;
}

absl::Status BatchSizeError(absl::string_view field, int size) {
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": must hold 1 to ", kMaxBatchSize, " entries, got ", size));
}

}  // namespace

absl::StatusOr<std::vector<absl::CivilDay>> PeriodDays(v1::Period period, absl::CivilDay today) {
  int days = 0;
  switch (period) {
    case v1::PERIOD_UNSPECIFIED:
    case v1::PERIOD_ALL_TIME:
      return std::vector<absl::CivilDay>();
    case v1::PERIOD_LAST_DAY:
      days = 1;
      break;
    case v1::PERIOD_LAST_7_DAYS:
      days = 7;
      break;
    case v1::PERIOD_LAST_30_DAYS:
      days = kLongestPeriodDays;
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("period: unknown value ", static_cast<int>(period)));
  }
  std::vector<absl::CivilDay> result;
  for (int back = days - 1; back >= 0; --back) result.push_back(today - back);
  return result;
}

std::optional<absl::CivilDay> RankingDay(absl::Time read_time, absl::CivilDay today) {
  const absl::CivilDay day = absl::ToCivilDay(read_time, absl::UTCTimeZone());
  if (today - day >= kLongestPeriodDays) return std::nullopt;
  return day;
}

absl::StatusOr<std::vector<std::string>> WatchedArticleIds(
    const v1::WatchReadStatsRequest& request) {
  const int size = request.articles_size();
  if (size < 1 || size > kMaxWatchedArticles) {
    return absl::InvalidArgumentError(absl::StrCat("articles: must hold 1 to ", kMaxWatchedArticles,
                                                   " article names, got ", size));
  }
  std::vector<std::string> ids;
  ids.reserve(size);
  for (int i = 0; i < size; ++i) {
    NEWSROOM_ASSIGN_OR_RETURN(
        absl::string_view id,
        ParseArticleName(request.articles(i), absl::StrCat("articles[", i, "]")));
    ids.emplace_back(id);
  }
  return ids;
}

AnalyticsService::AnalyticsService(std::unique_ptr<ReadCounter> counter, ReaderHasher hasher,
                                   Clock clock)
    : counter_(std::move(counter)), hasher_(std::move(hasher)), clock_(std::move(clock)) {}

absl::StatusOr<Read> AnalyticsService::ToRead(const v1::RecordReadRequest& request,
                                              absl::string_view field_prefix,
                                              absl::Time now) const {
  NEWSROOM_ASSIGN_OR_RETURN(
      absl::string_view article_id,
      ParseArticleName(request.article(), absl::StrCat(field_prefix, "article")));
  NEWSROOM_RETURN_IF_ERROR(
      ValidateReadId(request.read_id(), absl::StrCat(field_prefix, "read_id")));
  NEWSROOM_RETURN_IF_ERROR(
      ValidateReaderId(request.reader_id(), absl::StrCat(field_prefix, "reader_id")));
  absl::Time read_time = now;
  if (request.has_read_time()) {
    const std::string field = absl::StrCat(field_prefix, "read_time");
    const auto& timestamp = request.read_time();
    if (timestamp.seconds() > kMaxTimestampSeconds || timestamp.nanos() < 0 ||
        timestamp.nanos() > 999'999'999) {
      return InvalidReadTime(field, "is not a valid timestamp");
    }
    if (timestamp.seconds() < 0) return InvalidReadTime(field, "must not be before 1970");
    read_time = absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
    if (read_time > now + kMaxClockSkew) {
      return InvalidReadTime(field, "must not be more than 5 minutes in the future");
    }
  }
  const absl::CivilDay today = absl::ToCivilDay(now, absl::UTCTimeZone());
  return Read{std::string(article_id), request.read_id(), hasher_.Hash(request.reader_id()),
              RankingDay(read_time, today)};
}

void AnalyticsService::RecordRead(const v1::RecordReadRequest& request,
                                  Callback<v1::ReadStats> done) {
  absl::StatusOr<Read> read = ToRead(request, "", clock_());
  if (!read.ok()) return std::move(done)(read.status());
  std::vector<Read> reads;
  reads.push_back(*std::move(read));
  counter_->Record(std::move(reads),
                   [article = request.article(), done = std::move(done)](
                       absl::StatusOr<std::vector<RecordOutcome>> outcomes) mutable {
                     if (!outcomes.ok()) return std::move(done)(outcomes.status());
                     std::move(done)(ToReadStats(article, outcomes->front().counts));
                   });
}

void AnalyticsService::BatchRecordReads(const v1::BatchRecordReadsRequest& request,
                                        Callback<v1::BatchRecordReadsResponse> done) {
  const int size = request.requests_size();
  if (size < 1 || size > kMaxBatchSize) return std::move(done)(BatchSizeError("requests", size));
  const absl::Time now = clock_();
  std::vector<Read> reads;
  reads.reserve(size);
  std::vector<std::string> articles;
  articles.reserve(size);
  for (int i = 0; i < size; ++i) {
    absl::StatusOr<Read> read =
        ToRead(request.requests(i), absl::StrCat("requests[", i, "]."), now);
    if (!read.ok()) return std::move(done)(read.status());
    reads.push_back(*std::move(read));
    articles.push_back(request.requests(i).article());
  }
  // The counter records reads in order, each atomically, so a read_id repeated within the batch
  // counts once and its later copies report the stats after the first.
  counter_->Record(std::move(reads),
                   [articles = std::move(articles), done = std::move(done)](
                       absl::StatusOr<std::vector<RecordOutcome>> outcomes) mutable {
                     if (!outcomes.ok()) return std::move(done)(outcomes.status());
                     v1::BatchRecordReadsResponse response;
                     for (std::size_t i = 0; i < outcomes->size(); ++i) {
                       *response.add_stats() = ToReadStats(articles[i], (*outcomes)[i].counts);
                     }
                     std::move(done)(std::move(response));
                   });
}

void AnalyticsService::GetReadStats(const v1::GetReadStatsRequest& request,
                                    Callback<v1::ReadStats> done) {
  absl::StatusOr<absl::string_view> article_id = ParseArticleName(request.article(), "article");
  if (!article_id.ok()) return std::move(done)(article_id.status());
  counter_->Get({std::string(*article_id)},
                [article = request.article(), done = std::move(done)](
                    absl::StatusOr<std::vector<ArticleCounts>> counts) mutable {
                  if (!counts.ok()) return std::move(done)(counts.status());
                  std::move(done)(ToReadStats(article, counts->front()));
                });
}

void AnalyticsService::BatchGetReadStats(const v1::BatchGetReadStatsRequest& request,
                                         Callback<v1::BatchGetReadStatsResponse> done) {
  const int size = request.articles_size();
  if (size < 1 || size > kMaxBatchSize) return std::move(done)(BatchSizeError("articles", size));
  std::vector<std::string> ids;
  ids.reserve(size);
  std::vector<std::string> articles(request.articles().begin(), request.articles().end());
  for (int i = 0; i < size; ++i) {
    absl::StatusOr<absl::string_view> id =
        ParseArticleName(request.articles(i), absl::StrCat("articles[", i, "]"));
    if (!id.ok()) return std::move(done)(id.status());
    ids.emplace_back(*id);
  }
  counter_->Get(std::move(ids), [articles = std::move(articles), done = std::move(done)](
                                    absl::StatusOr<std::vector<ArticleCounts>> counts) mutable {
    if (!counts.ok()) return std::move(done)(counts.status());
    v1::BatchGetReadStatsResponse response;
    for (std::size_t i = 0; i < counts->size(); ++i) {
      *response.add_stats() = ToReadStats(articles[i], (*counts)[i]);
    }
    std::move(done)(std::move(response));
  });
}

void AnalyticsService::ListTopArticles(const v1::ListTopArticlesRequest& request,
                                       Callback<v1::ListTopArticlesResponse> done) {
  const v1::Period period =
      request.period() == v1::PERIOD_UNSPECIFIED ? v1::PERIOD_ALL_TIME : request.period();
  absl::StatusOr<std::vector<absl::CivilDay>> days =
      PeriodDays(period, absl::ToCivilDay(clock_(), absl::UTCTimeZone()));
  if (!days.ok()) return std::move(done)(days.status());
  if (request.page_size() < 0) {
    return std::move(done)(absl::InvalidArgumentError("page_size: must not be negative"));
  }
  int32_t page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  if (page_size > kMaxPageSize) page_size = kMaxPageSize;
  int64_t offset = 0;
  if (!request.page_token().empty()) {
    absl::StatusOr<int64_t> decoded = DecodePageToken(request.page_token(), period);
    if (!decoded.ok()) return std::move(done)(decoded.status());
    offset = *decoded;
  }
  counter_->Rank(
      RankingQuery{*std::move(days), offset, page_size},
      [period, offset, done = std::move(done)](absl::StatusOr<RankingPage> page) mutable {
        if (!page.ok()) return std::move(done)(page.status());
        v1::ListTopArticlesResponse response;
        for (const RankedArticleCount& entry : page->articles) {
          v1::RankedArticle* article = response.add_articles();
          article->set_article(absl::StrCat(kArticleNamePrefix, entry.article_id));
          article->set_reads(entry.reads);
        }
        if (page->has_more) {
          response.set_next_page_token(
              EncodePageToken(period, offset + static_cast<int64_t>(page->articles.size())));
        }
        std::move(done)(std::move(response));
      });
}

}  // namespace newsroom::analytics
