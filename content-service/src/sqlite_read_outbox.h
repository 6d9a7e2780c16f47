#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "content-service/src/read_outbox.h"
#include "content-service/src/sqlite_util.h"

namespace newsroom::content {

// The outbox as a table in content-service's SQLite database (its own connection, so that a slow
// article query never holds up a read being saved, and the reverse).
class SqliteReadOutbox final : public ReadOutbox {
 public:
  // Opens the database at `path` (":memory:" for a private, non-durable one) and creates the
  // outbox table if it is missing.
  static absl::StatusOr<std::unique_ptr<SqliteReadOutbox>> Open(const std::string& path);
  ~SqliteReadOutbox() override;

  absl::Status Append(const std::vector<analytics_v1::RecordReadRequest>& reads,
                      absl::Time now) override;
  absl::StatusOr<std::vector<OutboxEntry>> Oldest(std::size_t limit) override;
  absl::Status Remove(const std::vector<int64_t>& ids) override;
  absl::StatusOr<int64_t> RemoveQueuedBefore(absl::Time cutoff) override;
  absl::StatusOr<int64_t> Count() override;

 private:
  struct Statements;
  SqliteReadOutbox(sqlite::DbPtr db, std::unique_ptr<Statements> statements);
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back when it fails.
  template <typename Body>
  absl::Status InTransaction(Body body) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  sqlite::DbPtr db_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Statements> statements_ ABSL_GUARDED_BY(mu_);
};

}  // namespace newsroom::content
