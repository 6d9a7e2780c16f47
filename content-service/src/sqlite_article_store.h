#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "content-service/src/article_store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace newsroom::content {

// An ArticleStore in one SQLite database. Writes, listings and counts go through one connection
// guarded by a mutex; Get, GetStored and BatchGet, the page-view path when an article is not
// cached, through a small pool of read connections of their own, so that they neither queue behind
// each other nor behind writes (WAL lets readers run beside the writer, each seeing the last
// commit).
class SqliteArticleStore final : public ArticleStore {
 public:
  // The schema version this binary writes (`PRAGMA user_version`).
  static constexpr int kSchemaVersion = 1;
  // Read connections of a file database (a ":memory:" one has none: another connection would
  // open another database, so its reads share the write connection).
  static constexpr int kReadConnections = 4;

  // Opens (creating if needed) the database at `path`, a file or ":memory:", and creates or
  // migrates its schema. File databases use WAL and wait up to 5 s for locks held by other
  // processes. Returns INVALID_ARGUMENT for an empty path, FAILED_PRECONDITION when the schema is
  // newer than this binary understands, and INTERNAL when the file cannot be opened or is not a
  // SQLite database.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SqliteArticleStore>> Open(
      const std::string& path);

  ~SqliteArticleStore() override;
  SqliteArticleStore(const SqliteArticleStore&) = delete;
  SqliteArticleStore& operator=(const SqliteArticleStore&) = delete;

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
  struct Statements;
  struct Reader;
  class ReaderLease;

  SqliteArticleStore(sqlite3* db, std::unique_ptr<Statements> statements,
                     std::vector<std::unique_ptr<Reader>> readers);

  // GetStored/BatchGet on `get` or `batch_get` of whichever connection the caller holds.
  static absl::StatusOr<StoredArticle> GetWith(sqlite3_stmt* get, absl::string_view article_id);
  static absl::StatusOr<std::vector<v1::Article>> BatchGetWith(sqlite3_stmt* batch_get,
                                                               const std::string& ids_json,
                                                               std::size_t expected);

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back when it or the commit fails.
  absl::Status InTransactionLocked(const std::function<absl::Status()>& body)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inserts the tag rows of `article` (whose id is `article_id`) inside the current transaction.
  absl::Status InsertTagsLocked(absl::string_view article_id, const v1::Article& article)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes the tag rows of `article_id` inside the current transaction.
  absl::Status DeleteTagsLocked(absl::string_view article_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Steps a prepared statement that returns no rows, then resets it.
  absl::Status StepLocked(sqlite3_stmt* statement, absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite3* const db_;
  std::unique_ptr<Statements> statements_ ABSL_PT_GUARDED_BY(mu_);

  absl::Mutex readers_mu_;
  std::vector<std::unique_ptr<Reader>> idle_readers_ ABSL_GUARDED_BY(readers_mu_);
  const bool has_readers_;
};

}  // namespace newsroom::content
