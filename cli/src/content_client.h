#pragma once

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "newsroom/content/v1/content_service.pb.h"

namespace newsroom::cli {

// The content-service calls the CLI makes, each returning the RPC's outcome as absl::Status so
// that commands never see grpc types and tests can substitute a fake.
class ContentClient {
 public:
  virtual ~ContentClient() = default;

  [[nodiscard]] virtual absl::StatusOr<newsroom::content::v1::Article> GetArticle(
      const newsroom::content::v1::GetArticleRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<newsroom::content::v1::Article> ReadArticle(
      const newsroom::content::v1::ReadArticleRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<newsroom::content::v1::ListArticlesResponse> ListArticles(
      const newsroom::content::v1::ListArticlesRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<newsroom::content::v1::ListMostReadArticlesResponse>
  ListMostReadArticles(const newsroom::content::v1::ListMostReadArticlesRequest& request) = 0;
  [[nodiscard]] virtual absl::StatusOr<newsroom::content::v1::Article> CreateArticle(
      const newsroom::content::v1::CreateArticleRequest& request) = 0;
  [[nodiscard]] virtual absl::Status DeleteArticle(
      const newsroom::content::v1::DeleteArticleRequest& request) = 0;

  // Runs a WatchArticleReadStats stream, calling `on_update` with each message as it arrives,
  // until `duration` passes or StopWatch() is called (both OK) or the stream fails (its error).
  // The default, for fakes that do not stream, is UNIMPLEMENTED.
  [[nodiscard]] virtual absl::Status WatchArticleReadStats(
      const newsroom::content::v1::WatchArticleReadStatsRequest& request, absl::Duration duration,
      absl::FunctionRef<void(const newsroom::content::v1::WatchArticleReadStatsResponse&)>
          on_update) {
    (void)request, (void)duration, (void)on_update;
    return absl::UnimplementedError("watch");
  }

  // Ends a WatchArticleReadStats running on another thread (Ctrl-C); safe from any thread.
  virtual void StopWatch() {}
};

}  // namespace newsroom::cli
