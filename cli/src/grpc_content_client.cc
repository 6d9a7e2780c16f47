#include "cli/src/grpc_content_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>

#include "common/src/grpc_status.h"
#include "google/protobuf/empty.pb.h"

namespace newsroom::cli {

namespace v1 = ::newsroom::content::v1;

GrpcContentClient::GrpcContentClient(const std::shared_ptr<grpc::Channel>& channel,
                                     absl::Duration timeout)
    : stub_(v1::ContentService::NewStub(channel)), timeout_(timeout) {}

std::unique_ptr<GrpcContentClient> GrpcContentClient::Connect(const std::string& address,
                                                              absl::Duration timeout) {
  return std::make_unique<GrpcContentClient>(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), timeout);
}

template <typename Response, typename Request, typename Method>
absl::StatusOr<Response> GrpcContentClient::Call(Method method, const Request& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout_));
  Response response;
  grpc::Status status = ((*stub_).*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

absl::StatusOr<v1::Article> GrpcContentClient::GetArticle(const v1::GetArticleRequest& request) {
  return Call<v1::Article>(&v1::ContentService::Stub::GetArticle, request);
}

absl::StatusOr<v1::Article> GrpcContentClient::ReadArticle(const v1::ReadArticleRequest& request) {
  return Call<v1::Article>(&v1::ContentService::Stub::ReadArticle, request);
}

absl::StatusOr<v1::ListArticlesResponse> GrpcContentClient::ListArticles(
    const v1::ListArticlesRequest& request) {
  return Call<v1::ListArticlesResponse>(&v1::ContentService::Stub::ListArticles, request);
}

absl::StatusOr<v1::ListMostReadArticlesResponse> GrpcContentClient::ListMostReadArticles(
    const v1::ListMostReadArticlesRequest& request) {
  return Call<v1::ListMostReadArticlesResponse>(&v1::ContentService::Stub::ListMostReadArticles,
                                                request);
}

absl::StatusOr<v1::Article> GrpcContentClient::CreateArticle(
    const v1::CreateArticleRequest& request) {
  return Call<v1::Article>(&v1::ContentService::Stub::CreateArticle, request);
}

absl::Status GrpcContentClient::DeleteArticle(const v1::DeleteArticleRequest& request) {
  return Call<google::protobuf::Empty>(&v1::ContentService::Stub::DeleteArticle, request).status();
}

}  // namespace newsroom::cli
