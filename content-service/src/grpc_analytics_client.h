#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "content-service/src/analytics_client.h"
#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"

namespace newsroom::content {

// AnalyticsClient over one gRPC channel, created once and shared by every call.
class GrpcAnalyticsClient final : public AnalyticsClient {
 public:
  // `address` is HOST:PORT. The channel connects lazily, so analytics-service may be down at start.
  // `credentials` null: plaintext (see common/src/tls_credentials.h for TLS).
  explicit GrpcAnalyticsClient(const std::string& address,
                               std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  explicit GrpcAnalyticsClient(std::shared_ptr<grpc::Channel> channel);

  void RecordRead(const analytics_v1::RecordReadRequest& request, absl::Time deadline,
                  const TraceContext& trace, Callback<analytics_v1::ReadStats> done) override;
  void RecordReads(std::vector<analytics_v1::RecordReadRequest> reads, absl::Time deadline,
                   const TraceContext& trace,
                   Callback<std::vector<analytics_v1::ReadStats>> done) override;
  void BatchGetReadStats(std::vector<std::string> articles, absl::Time deadline,
                         const TraceContext& trace,
                         Callback<std::vector<analytics_v1::ReadStats>> done) override;
  void ListTopArticles(const analytics_v1::ListTopArticlesRequest& request, absl::Time deadline,
                       const TraceContext& trace,
                       Callback<analytics_v1::ListTopArticlesResponse> done) override;
  absl::Status BatchRecordReads(const std::vector<analytics_v1::RecordReadRequest>& reads,
                                absl::Time deadline, const TraceContext& trace) override;
  std::shared_ptr<ReadStatsWatch> WatchReadStats(std::vector<std::string> articles,
                                                 const TraceContext& trace,
                                                 WatchCallbacks callbacks) override;
  std::shared_ptr<ReadStatsWatch> WatchReadStatsChanges(const TraceContext& trace,
                                                        WatchCallbacks callbacks) override;

 private:
  std::unique_ptr<analytics_v1::AnalyticsService::Stub> stub_;
};

}  // namespace newsroom::content
