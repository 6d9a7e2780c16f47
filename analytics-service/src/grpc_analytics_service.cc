#include "analytics-service/src/grpc_analytics_service.h"

#include <utility>

#include "analytics-service/src/watch_reactor.h"
#include "common/src/raw_request.h"
#include "common/src/unary_reactor.h"

namespace newsroom::analytics {

GrpcAnalyticsService::GrpcAnalyticsService(AnalyticsService* service, CallLimiter* limiter,
                                           WatchHub* watch_hub, ChangeFeedHub* change_feed_hub,
                                           CallObserver* observer)
    : service_(service),
      limiter_(limiter),
      watch_hub_(watch_hub),
      change_feed_hub_(change_feed_hub),
      record_read_(
          observer->ObserveInHandler(v1::AnalyticsService::service_full_name(), "RecordRead")),
      batch_record_reads_(observer->ObserveInHandler(v1::AnalyticsService::service_full_name(),
                                                     "BatchRecordReads")),
      get_read_stats_(
          observer->ObserveInHandler(v1::AnalyticsService::service_full_name(), "GetReadStats")),
      batch_get_read_stats_(observer->ObserveInHandler(v1::AnalyticsService::service_full_name(),
                                                       "BatchGetReadStats")) {}

template <typename Request, typename Response>
grpc::ServerUnaryReactor* GrpcAnalyticsService::Serve(
    grpc::CallbackServerContext* context, const ObservedMethod& method,
    const grpc::ByteBuffer& request, grpc::ByteBuffer* response,
    void (AnalyticsService::*logic)(const Request&, Callback<Response>)) {
  const ObservedCall call(method, context->client_metadata());
  Request parsed;
  if (!ParseRawRequest(request, &parsed)) {
    return FinishObserved(context, call, UnparsableRequestStatus());
  }
  auto permit = limiter_->TryAcquire();
  if (!permit) return FinishObserved(context, call, OverloadedStatus(*limiter_));
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  (service_->*logic)(parsed,
                     FinishSerializedInto<Response>(reactor, response, *std::move(permit), call));
  return reactor;
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::RecordRead(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request,
                                                           grpc::ByteBuffer* response) {
  return Serve(context, record_read_, *request, response, &AnalyticsService::RecordRead);
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::BatchRecordReads(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, batch_record_reads_, *request, response,
               &AnalyticsService::BatchRecordReads);
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::GetReadStats(grpc::CallbackServerContext* context,
                                                             const grpc::ByteBuffer* request,
                                                             grpc::ByteBuffer* response) {
  return Serve(context, get_read_stats_, *request, response, &AnalyticsService::GetReadStats);
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::BatchGetReadStats(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, batch_get_read_stats_, *request, response,
               &AnalyticsService::BatchGetReadStats);
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::ListTopArticles(
    grpc::CallbackServerContext* context, const v1::ListTopArticlesRequest* request,
    v1::ListTopArticlesResponse* response) {
  auto permit = limiter_->TryAcquire();
  if (!permit) return FinishOverloaded(context, *limiter_);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->ListTopArticles(*request, FinishInto(reactor, response, *std::move(permit)));
  return reactor;
}

grpc::ServerWriteReactor<v1::WatchReadStatsResponse>* GrpcAnalyticsService::WatchReadStats(
    grpc::CallbackServerContext* /*context*/, const v1::WatchReadStatsRequest* request) {
  return StartWatchReadStats(watch_hub_, *request);
}

grpc::ServerWriteReactor<v1::WatchReadStatsChangesResponse>*
GrpcAnalyticsService::WatchReadStatsChanges(grpc::CallbackServerContext* /*context*/,
                                            const v1::WatchReadStatsChangesRequest* /*request*/) {
  return StartWatchReadStatsChanges(change_feed_hub_);
}

}  // namespace newsroom::analytics
