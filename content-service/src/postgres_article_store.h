#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "content-service/src/article_store.h"
#include "content-service/src/postgres_pool.h"

namespace newsroom::content {

// The channel on which PostgreSQL announces, at commit, each article that was created, changed or
// deleted: the payload is its id, or empty for "every article" (a TRUNCATE). Open sets this up
// with a trigger on the articles table, so writes from any replica, or by hand, are announced.
inline constexpr char kArticleChangesChannel[] = "newsroom_article_changed";

// An ArticleStore in a PostgreSQL database, through a small pool of libpq connections, so that
// several content-service replicas can share one store. Same schema shape, semantics and status
// codes as SqliteArticleStore; UNAVAILABLE when the server is unreachable or busy past 5 s.
class PostgresArticleStore final : public ArticleStore {
 public:
  // The schema version this binary writes (table content_schema_version).
  static constexpr int kSchemaVersion = 1;

  // Connects and creates or migrates the schema in one transaction, under an advisory lock so
  // that replicas starting together migrate once; creates the trigger behind
  // kArticleChangesChannel when it is missing. Returns INVALID_ARGUMENT for a bad URL (or one
  // holding a password), UNAVAILABLE when the server cannot be reached or refuses the login, and
  // FAILED_PRECONDITION when the schema is newer than this binary understands.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PostgresArticleStore>> Open(
      PostgresOptions options);

  absl::Status Create(const v1::Article& article) override;
  absl::StatusOr<v1::Article> Get(absl::string_view article_id) override;
  absl::StatusOr<StoredArticle> GetStored(absl::string_view article_id) override;
  absl::StatusOr<std::vector<v1::Article>> BatchGet(
      const std::vector<std::string>& article_ids) override;
  absl::Status Replace(const v1::Article& article, absl::string_view expected_etag) override;
  absl::Status Delete(absl::string_view article_id) override;
  absl::StatusOr<ArticlePage> List(const ListQuery& query) override;
  absl::StatusOr<int64_t> Count() override;

 private:
  explicit PostgresArticleStore(std::unique_ptr<PostgresPool> pool) : pool_(std::move(pool)) {}

  std::unique_ptr<PostgresPool> pool_;
};

}  // namespace newsroom::content
