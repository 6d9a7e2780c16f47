#pragma once

// Base for the pure-logic stand-ins of analytics-service in content-service's unit tests: every
// call answers UNIMPLEMENTED, so each test overrides only the calls its subject makes.

#include <string>
#include <vector>

#include "content-service/src/analytics_client.h"

namespace newsroom::content {

class UnusedAnalytics : public AnalyticsClient {
 public:
  void RecordRead(const analytics_v1::RecordReadRequest&, absl::Time, const TraceContext&,
                  Callback<analytics_v1::ReadStats> done) override {
    std::move(done)(absl::UnimplementedError("not used"));
  }
  void RecordReads(std::vector<analytics_v1::RecordReadRequest>, absl::Time, const TraceContext&,
                   Callback<std::vector<analytics_v1::ReadStats>> done) override {
    std::move(done)(absl::UnimplementedError("not used"));
  }
  void BatchGetReadStats(std::vector<std::string>, absl::Time, const TraceContext&,
                         Callback<std::vector<analytics_v1::ReadStats>> done) override {
    std::move(done)(absl::UnimplementedError("not used"));
  }
  void ListTopArticles(const analytics_v1::ListTopArticlesRequest&, absl::Time, const TraceContext&,
                       Callback<analytics_v1::ListTopArticlesResponse> done) override {
    std::move(done)(absl::UnimplementedError("not used"));
  }
  absl::Status BatchRecordReads(const std::vector<analytics_v1::RecordReadRequest>&, absl::Time,
                                const TraceContext&) override {
    return absl::UnimplementedError("not used");
  }
};

}  // namespace newsroom::content
