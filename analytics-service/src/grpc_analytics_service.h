#pragma once

#include "analytics-service/src/analytics_service.h"
#include "common/src/call_limiter.h"
#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"

namespace newsroom::analytics {

// The RPC edge: hands each call to AnalyticsService and finishes the call's reactor when the
// service is done, so no gRPC thread waits on Redis.
class GrpcAnalyticsService final : public v1::AnalyticsService::CallbackService {
 public:
  // `service` and `limiter` are not owned and must outlive this object and the server serving it.
  // The limiter bounds the calls in flight; more are refused with RESOURCE_EXHAUSTED.
  GrpcAnalyticsService(AnalyticsService* service, CallLimiter* limiter)
      : service_(service), limiter_(limiter) {}

  grpc::ServerUnaryReactor* RecordRead(grpc::CallbackServerContext* context,
                                       const v1::RecordReadRequest* request,
                                       v1::ReadStats* response) override;
  grpc::ServerUnaryReactor* BatchRecordReads(grpc::CallbackServerContext* context,
                                             const v1::BatchRecordReadsRequest* request,
                                             v1::BatchRecordReadsResponse* response) override;
  grpc::ServerUnaryReactor* GetReadStats(grpc::CallbackServerContext* context,
                                         const v1::GetReadStatsRequest* request,
                                         v1::ReadStats* response) override;
  grpc::ServerUnaryReactor* BatchGetReadStats(grpc::CallbackServerContext* context,
                                              const v1::BatchGetReadStatsRequest* request,
                                              v1::BatchGetReadStatsResponse* response) override;
  grpc::ServerUnaryReactor* ListTopArticles(grpc::CallbackServerContext* context,
                                            const v1::ListTopArticlesRequest* request,
                                            v1::ListTopArticlesResponse* response) override;

 private:
  AnalyticsService* service_;
  CallLimiter* limiter_;
};

}  // namespace newsroom::analytics
