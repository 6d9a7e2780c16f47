#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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
};

}  // namespace newsroom::cli
