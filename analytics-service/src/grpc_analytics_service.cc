#include "analytics-service/src/grpc_analytics_service.h"

#include <utility>

#include "analytics-service/src/watch_reactor.h"
#include "common/src/unary_reactor.h"

namespace newsroom::analytics {

grpc::ServerUnaryReactor* GrpcAnalyticsService::RecordRead(grpc::CallbackServerContext* context,
                                                           const v1::RecordReadRequest* request,
                                                           v1::ReadStats* response) {
  auto permit = limiter_->TryAcquire();
  if (!permit) return FinishOverloaded(context, *limiter_);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->RecordRead(*request, FinishInto(reactor, response, *std::move(permit)));
  return reactor;
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::BatchRecordReads(
    grpc::CallbackServerContext* context, const v1::BatchRecordReadsRequest* request,
    v1::BatchRecordReadsResponse* response) {
  auto permit = limiter_->TryAcquire();
  if (!permit) return FinishOverloaded(context, *limiter_);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->BatchRecordReads(*request, FinishInto(reactor, response, *std::move(permit)));
  return reactor;
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::GetReadStats(grpc::CallbackServerContext* context,
                                                             const v1::GetReadStatsRequest* request,
                                                             v1::ReadStats* response) {
  auto permit = limiter_->TryAcquire();
  if (!permit) return FinishOverloaded(context, *limiter_);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->GetReadStats(*request, FinishInto(reactor, response, *std::move(permit)));
  return reactor;
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::BatchGetReadStats(
    grpc::CallbackServerContext* context, const v1::BatchGetReadStatsRequest* request,
    v1::BatchGetReadStatsResponse* response) {
  auto permit = limiter_->TryAcquire();
  if (!permit) return FinishOverloaded(context, *limiter_);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->BatchGetReadStats(*request, FinishInto(reactor, response, *std::move(permit)));
  return reactor;
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
