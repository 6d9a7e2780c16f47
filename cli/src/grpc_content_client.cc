#include "cli/src/grpc_content_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <utility>

#include "common/src/grpc_status.h"
#include "google/protobuf/empty.pb.h"

namespace newsroom::cli {

namespace v1 = ::newsroom::content::v1;

GrpcContentClient::GrpcContentClient(const std::shared_ptr<grpc::Channel>& channel,
                                     absl::Duration timeout, std::string editor_token)
    : stub_(v1::ContentService::NewStub(channel)),
      timeout_(timeout),
      editor_token_(std::move(editor_token)) {}

std::unique_ptr<GrpcContentClient> GrpcContentClient::Connect(
    const std::string& address, absl::Duration timeout, std::string editor_token,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  return std::make_unique<GrpcContentClient>(grpc::CreateChannel(address, credentials), timeout,
                                             std::move(editor_token));
}

template <typename Response, typename Request, typename Method>
absl::StatusOr<Response> GrpcContentClient::Call(Method method, const Request& request,
                                                 bool as_editor) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout_));
  // Only the calls that need it carry the token: reads go out without a secret.
  if (as_editor && !editor_token_.empty()) {
    context.AddMetadata("authorization", "Bearer " + editor_token_);
  }
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
  return Call<v1::Article>(&v1::ContentService::Stub::CreateArticle, request, /*as_editor=*/true);
}

absl::Status GrpcContentClient::DeleteArticle(const v1::DeleteArticleRequest& request) {
  return Call<google::protobuf::Empty>(&v1::ContentService::Stub::DeleteArticle, request,
                                       /*as_editor=*/true)
      .status();
}

absl::Status GrpcContentClient::WatchArticleReadStats(
    const v1::WatchArticleReadStatsRequest& request, absl::Duration duration,
    absl::FunctionRef<void(const v1::WatchArticleReadStatsResponse&)> on_update) {
  grpc::ClientContext context;
  const bool timed = duration != absl::InfiniteDuration();
  if (timed) {
    context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(duration));
  }
  {
    absl::MutexLock lock(&watch_mu_);
    if (watch_stopped_) return absl::OkStatus();
    watch_context_ = &context;
  }
  std::unique_ptr<grpc::ClientReader<v1::WatchArticleReadStatsResponse>> reader =
      stub_->WatchArticleReadStats(&context, request);
  v1::WatchArticleReadStatsResponse response;
  while (reader->Read(&response)) on_update(response);
  const grpc::Status status = reader->Finish();
  bool stopped;
  {
    absl::MutexLock lock(&watch_mu_);
    watch_context_ = nullptr;
    stopped = watch_stopped_;
  }
  // The end the caller asked for, by Ctrl-C or --duration, is a success.
  if (stopped && status.error_code() == grpc::StatusCode::CANCELLED) return absl::OkStatus();
  if (timed && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::OkStatus();
  }
  return FromGrpcStatus(status);
}

void GrpcContentClient::StopWatch() {
  absl::MutexLock lock(&watch_mu_);
  watch_stopped_ = true;
  if (watch_context_ != nullptr) watch_context_->TryCancel();
}

}  // namespace newsroom::cli
