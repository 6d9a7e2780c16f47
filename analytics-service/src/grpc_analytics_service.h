#pragma once

#include <grpcpp/support/byte_buffer.h>

#include "analytics-service/src/analytics_service.h"
#include "analytics-service/src/change_feed_hub.h"
#include "analytics-service/src/watch_hub.h"
#include "common/src/call_limiter.h"
#include "common/src/server_call.h"
#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"

namespace newsroom::analytics {

// The callback service with the methods content-service calls on every page view and read as raw
// methods, so that they can observe their own calls (common/src/server_call.h) and spare the
// busiest calls gRPC's interceptor path; they parse their requests and serialize their responses
// as gRPC would.
using AnalyticsCallbackService = v1::AnalyticsService::WithRawCallbackMethod_RecordRead<
    v1::AnalyticsService::WithRawCallbackMethod_BatchRecordReads<
        v1::AnalyticsService::WithRawCallbackMethod_GetReadStats<
            v1::AnalyticsService::WithRawCallbackMethod_BatchGetReadStats<
                v1::AnalyticsService::CallbackService>>>>;

// The RPC edge: hands each call to AnalyticsService and finishes the call's reactor when the
// service is done, so no gRPC thread waits on Redis.
class GrpcAnalyticsService final : public AnalyticsCallbackService {
 public:
  // `service`, `limiter` and `watch_hub` are not owned and must outlive this object and the
  // server serving it. The limiter bounds the unary calls in flight; more are refused with
  // RESOURCE_EXHAUSTED. WatchReadStats streams are bounded by the hub instead (they are long-lived
  // and must not use up the unary calls' room). The raw methods register with `observer`, which
  // must be the server's (GrpcServerOptions::call_observer).
  GrpcAnalyticsService(AnalyticsService* service, CallLimiter* limiter, WatchHub* watch_hub,
                       ChangeFeedHub* change_feed_hub, CallObserver* observer);

  // Raw: the request is a RecordReadRequest, the response a ReadStats.
  grpc::ServerUnaryReactor* RecordRead(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  // Raw: the request is a BatchRecordReadsRequest, the response a BatchRecordReadsResponse.
  grpc::ServerUnaryReactor* BatchRecordReads(grpc::CallbackServerContext* context,
                                             const grpc::ByteBuffer* request,
                                             grpc::ByteBuffer* response) override;
  // Raw: the request is a GetReadStatsRequest, the response a ReadStats.
  grpc::ServerUnaryReactor* GetReadStats(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  // Raw: the request is a BatchGetReadStatsRequest, the response a BatchGetReadStatsResponse.
  grpc::ServerUnaryReactor* BatchGetReadStats(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListTopArticles(grpc::CallbackServerContext* context,
                                            const v1::ListTopArticlesRequest* request,
                                            v1::ListTopArticlesResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchReadStatsResponse>* WatchReadStats(
      grpc::CallbackServerContext* context, const v1::WatchReadStatsRequest* request) override;
  grpc::ServerWriteReactor<v1::WatchReadStatsChangesResponse>* WatchReadStatsChanges(
      grpc::CallbackServerContext* context,
      const v1::WatchReadStatsChangesRequest* request) override;

 private:
  // A raw method's call: parses `request`, admits it, and has `logic` answer it into `response`.
  template <typename Request, typename Response>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const ObservedMethod& method, const grpc::ByteBuffer& request,
                                  grpc::ByteBuffer* response,
                                  void (AnalyticsService::*logic)(const Request&,
                                                                  Callback<Response>));

  AnalyticsService* service_;
  CallLimiter* limiter_;
  WatchHub* watch_hub_;
  ChangeFeedHub* change_feed_hub_;
  const ObservedMethod& record_read_;
  const ObservedMethod& batch_record_reads_;
  const ObservedMethod& get_read_stats_;
  const ObservedMethod& batch_get_read_stats_;
};

}  // namespace newsroom::analytics
