#include "content-service/src/stored_article.h"

#include <utility>

namespace newsroom::content {

absl::StatusOr<StoredArticle> StoredArticle::FromArticle(const v1::Article& article) {
  std::string bytes;
  bool ok;
  if (article.has_read_stats()) {
    v1::Article copy = article;
    copy.clear_read_stats();
    ok = copy.SerializeToString(&bytes);
  } else {
    ok = article.SerializeToString(&bytes);
  }
  if (!ok) return absl::InvalidArgumentError("article: too large to store");
  return StoredArticle(std::move(bytes));
}

StoredArticle::StoredArticle(std::string bytes)
    : shared_(std::make_shared<Shared>(std::move(bytes))) {}

absl::StatusOr<v1::Article> StoredArticle::Parse() const {
  return ParseStoredArticle(shared_->bytes);
}

absl::StatusOr<v1::Article> ParseStoredArticle(absl::string_view bytes) {
  v1::Article article;
  if (!article.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InternalError("article store: a stored article is corrupt");
  }
  return article;
}

std::string ReadStatsField(analytics::v1::ReadStats stats) {
  // An Article holding nothing else serializes to exactly that one field.
  v1::Article only_stats;
  *only_stats.mutable_read_stats() = std::move(stats);
  return only_stats.SerializeAsString();
}

}  // namespace newsroom::content
