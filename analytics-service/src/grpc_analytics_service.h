#pragma once

#include "analytics-service/src/analytics_service.h"
#include "analytics-service/src/change_feed_hub.h"
#include "analytics-service/src/watch_hub.h"
#include "common/src/call_limiter.h"
#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"

namespace newsroom::analytics {

// The RPC edge: hands each call to AnalyticsService and finishes the call's reactor when the
// service is done, so no gRPC thread waits on Redis.
class GrpcAnalyticsService final : public v1::AnalyticsService::CallbackService {
 public:
  // `service`, `limiter` and `watch_hub` are not owned and must outlive this object and the
  // server serving it. The limiter bounds the unary calls in flight; more are refused with
  // RESOURCE_EXHAUSTED. WatchReadStats streams are bounded by the hub instead (they are long-lived
  // and must not use up the unary calls' room).
  GrpcAnalyticsService(AnalyticsService* service, CallLimiter* limiter, WatchHub* watch_hub,
                       ChangeFeedHub* change_feed_hub)
      : service_(service),
        limiter_(limiter),
        watch_hub_(watch_hub),
        change_feed_hub_(change_feed_hub) {}

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
  grpc::ServerWriteReactor<v1::WatchReadStatsResponse>* WatchReadStats(
      grpc::CallbackServerContext* context, const v1::WatchReadStatsRequest* request) override;
  grpc::ServerWriteReactor<v1::WatchReadStatsChangesResponse>* WatchReadStatsChanges(
      grpc::CallbackServerContext* context,
      const v1::WatchReadStatsChangesRequest* request) override;

 private:
  AnalyticsService* service_;
  CallLimiter* limiter_;
  WatchHub* watch_hub_;
  ChangeFeedHub* change_feed_hub_;
};

}  // namespace newsroom::analytics
