#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "analytics-service/src/read_counter.h"
#include "analytics-service/src/reader_hasher.h"
#include "newsroom/analytics/v1/analytics_service.pb.h"

namespace newsroom::analytics {

inline constexpr int kMaxBatchSize = 1000;
inline constexpr int32_t kDefaultPageSize = 10;
inline constexpr int32_t kMaxPageSize = 1000;
// Reads may carry a read_time at most this far ahead of the server's clock.
inline constexpr absl::Duration kMaxClockSkew = absl::Minutes(5);
// Days ranked by the longest period; older reads count in the all-time totals only.
inline constexpr int kLongestPeriodDays = 30;
// Articles one WatchReadStats call may watch.
inline constexpr int kMaxWatchedArticles = 100;

// The UTC days a period sums, oldest first, ending with `today`; empty for all time (and for
// PERIOD_UNSPECIFIED). INVALID_ARGUMENT naming `period` for a value the API does not define.
[[nodiscard]] absl::StatusOr<std::vector<absl::CivilDay>> PeriodDays(v1::Period period,
                                                                     absl::CivilDay today);

// The day whose ranking a read at `read_time` counts in, or nullopt when that day is outside the
// longest period ending `today`.
[[nodiscard]] std::optional<absl::CivilDay> RankingDay(absl::Time read_time, absl::CivilDay today);

// The article ids a WatchReadStats request names, in request order (duplicates kept: the hub
// watches them once). INVALID_ARGUMENT naming `articles` or `articles[i]`.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> WatchedArticleIds(
    const v1::WatchReadStatsRequest& request);

// The API's logic, free of gRPC: validates requests, turns them into ReadCounter calls and builds
// the responses. Each method calls `done` exactly once, possibly on another thread; it returns
// INVALID_ARGUMENT (naming the field) before touching the counter, and the counter's UNAVAILABLE
// or INTERNAL otherwise.
class AnalyticsService final {
 public:
  using Clock = std::function<absl::Time()>;

  AnalyticsService(std::unique_ptr<ReadCounter> counter, ReaderHasher hasher,
                   Clock clock = &absl::Now);

  void RecordRead(const v1::RecordReadRequest& request, Callback<v1::ReadStats> done);
  void BatchRecordReads(const v1::BatchRecordReadsRequest& request,
                        Callback<v1::BatchRecordReadsResponse> done);
  void GetReadStats(const v1::GetReadStatsRequest& request, Callback<v1::ReadStats> done);
  void BatchGetReadStats(const v1::BatchGetReadStatsRequest& request,
                         Callback<v1::BatchGetReadStatsResponse> done);
  void ListTopArticles(const v1::ListTopArticlesRequest& request,
                       Callback<v1::ListTopArticlesResponse> done);

 private:
  // Validates `request` (field names prefixed by `field_prefix`) into a Read.
  absl::StatusOr<Read> ToRead(const v1::RecordReadRequest& request, absl::string_view field_prefix,
                              absl::Time now) const;

  std::unique_ptr<ReadCounter> counter_;
  ReaderHasher hasher_;
  Clock clock_;
};

}  // namespace newsroom::analytics
