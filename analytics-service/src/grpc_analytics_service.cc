#include "analytics-service/src/grpc_analytics_service.h"

#include <utility>

#include "common/src/grpc_status.h"

namespace newsroom::analytics {
namespace {

// The completion for one call: moves the result into the call's response and finishes it.
template <typename Response>
Callback<Response> Finisher(grpc::ServerUnaryReactor* reactor, Response* response) {
  return [reactor, response](absl::StatusOr<Response> result) {
    if (result.ok()) *response = *std::move(result);
    reactor->Finish(ToGrpcStatus(result.status()));
  };
}

}  // namespace

grpc::ServerUnaryReactor* GrpcAnalyticsService::RecordRead(grpc::CallbackServerContext* context,
                                                           const v1::RecordReadRequest* request,
                                                           v1::ReadStats* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->RecordRead(*request, Finisher(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::BatchRecordReads(
    grpc::CallbackServerContext* context, const v1::BatchRecordReadsRequest* request,
    v1::BatchRecordReadsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->BatchRecordReads(*request, Finisher(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::GetReadStats(grpc::CallbackServerContext* context,
                                                             const v1::GetReadStatsRequest* request,
                                                             v1::ReadStats* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->GetReadStats(*request, Finisher(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::BatchGetReadStats(
    grpc::CallbackServerContext* context, const v1::BatchGetReadStatsRequest* request,
    v1::BatchGetReadStatsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->BatchGetReadStats(*request, Finisher(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* GrpcAnalyticsService::ListTopArticles(
    grpc::CallbackServerContext* context, const v1::ListTopArticlesRequest* request,
    v1::ListTopArticlesResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->ListTopArticles(*request, Finisher(reactor, response));
  return reactor;
}

}  // namespace newsroom::analytics
