#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cli/src/content_client.h"
#include "newsroom/content/v1/content_service.grpc.pb.h"

namespace newsroom::cli {

// ContentClient over a gRPC channel; every call carries a deadline of `timeout` from its start, and
// the write calls (create, delete) `authorization: Bearer <editor_token>` when it is not empty.
class GrpcContentClient final : public ContentClient {
 public:
  GrpcContentClient(const std::shared_ptr<grpc::Channel>& channel, absl::Duration timeout,
                    std::string editor_token = "");

  // Returns a client for `address` (HOST:PORT) over a channel with `credentials` (null:
  // plaintext).
  [[nodiscard]] static std::unique_ptr<GrpcContentClient> Connect(
      const std::string& address, absl::Duration timeout, std::string editor_token = "",
      std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

  absl::StatusOr<newsroom::content::v1::Article> GetArticle(
      const newsroom::content::v1::GetArticleRequest& request) override;
  absl::StatusOr<newsroom::content::v1::Article> ReadArticle(
      const newsroom::content::v1::ReadArticleRequest& request) override;
  absl::StatusOr<newsroom::content::v1::ListArticlesResponse> ListArticles(
      const newsroom::content::v1::ListArticlesRequest& request) override;
  absl::StatusOr<newsroom::content::v1::ListMostReadArticlesResponse> ListMostReadArticles(
      const newsroom::content::v1::ListMostReadArticlesRequest& request) override;
  absl::StatusOr<newsroom::content::v1::Article> CreateArticle(
      const newsroom::content::v1::CreateArticleRequest& request) override;
  absl::Status DeleteArticle(const newsroom::content::v1::DeleteArticleRequest& request) override;
  absl::Status WatchArticleReadStats(
      const newsroom::content::v1::WatchArticleReadStatsRequest& request, absl::Duration duration,
      absl::FunctionRef<void(const newsroom::content::v1::WatchArticleReadStatsResponse&)>
          on_update) override;
  void StopWatch() override;

 private:
  template <typename Response, typename Request, typename Method>
  absl::StatusOr<Response> Call(Method method, const Request& request, bool as_editor = false);

  std::unique_ptr<newsroom::content::v1::ContentService::Stub> stub_;
  absl::Duration timeout_;
  std::string editor_token_;
  // The context of the watch in progress, for StopWatch.
  absl::Mutex watch_mu_;
  grpc::ClientContext* watch_context_ ABSL_GUARDED_BY(watch_mu_) = nullptr;
  bool watch_stopped_ ABSL_GUARDED_BY(watch_mu_) = false;
};

}  // namespace newsroom::cli
