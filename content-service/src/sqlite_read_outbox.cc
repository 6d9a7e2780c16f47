#include "content-service/src/sqlite_read_outbox.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/src/status_macros.h"

namespace newsroom::content {
namespace {

// AUTOINCREMENT keeps ids increasing even after the newest rows are deleted, so that "oldest
// first" stays the order reads were appended in.
constexpr char kCreateTable[] = R"sql(
  CREATE TABLE IF NOT EXISTS read_outbox (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    queued_us INTEGER NOT NULL,
    read      BLOB    NOT NULL
  );
  CREATE INDEX IF NOT EXISTS read_outbox_by_time ON read_outbox (queued_us);
)sql";

}  // namespace

struct SqliteReadOutbox::Statements {
  sqlite::StatementPtr begin;
  sqlite::StatementPtr commit;
  sqlite::StatementPtr rollback;
  sqlite::StatementPtr insert;
  sqlite::StatementPtr oldest;
  sqlite::StatementPtr remove;
  sqlite::StatementPtr remove_before;
  sqlite::StatementPtr count;
};

absl::StatusOr<std::unique_ptr<SqliteReadOutbox>> SqliteReadOutbox::Open(const std::string& path) {
  sqlite::DbPtr db;
  NEWSROOM_RETURN_IF_ERROR(sqlite::Open(path, db));
  NEWSROOM_RETURN_IF_ERROR(sqlite::Exec(db.get(), kCreateTable, "create the read outbox"));
  auto s = std::make_unique<Statements>();
  const std::pair<const char*, sqlite::StatementPtr*> statements[] = {
      {"BEGIN IMMEDIATE", &s->begin},
      {"COMMIT", &s->commit},
      {"ROLLBACK", &s->rollback},
      {"INSERT INTO read_outbox (queued_us, read) VALUES (?1, ?2)", &s->insert},
      {"SELECT id, queued_us, read FROM read_outbox ORDER BY id LIMIT ?1", &s->oldest},
      // ?1 is a JSON array of ids.
      {"DELETE FROM read_outbox WHERE id IN (SELECT value FROM json_each(?1))", &s->remove},
      {"DELETE FROM read_outbox WHERE queued_us < ?1", &s->remove_before},
      {"SELECT COUNT(*) FROM read_outbox", &s->count},
  };
  for (const auto& [sql, out] : statements) {
    NEWSROOM_RETURN_IF_ERROR(sqlite::Prepare(db.get(), sql, *out));
  }
  return std::unique_ptr<SqliteReadOutbox>(new SqliteReadOutbox(std::move(db), std::move(s)));
}

SqliteReadOutbox::SqliteReadOutbox(sqlite::DbPtr db, std::unique_ptr<Statements> statements)
    : db_(std::move(db)), statements_(std::move(statements)) {}

SqliteReadOutbox::~SqliteReadOutbox() {
  absl::MutexLock lock(&mu_);
  statements_.reset();  // finalized before the connection closes
  db_.reset();
}

template <typename Body>
absl::Status SqliteReadOutbox::InTransaction(Body body) {
  {
    sqlite::ScopedReset reset(statements_->begin.get());
    NEWSROOM_RETURN_IF_ERROR(sqlite::StepDone(statements_->begin.get(), "begin"));
  }
  absl::Status status = body();
  if (status.ok()) {
    sqlite::ScopedReset reset(statements_->commit.get());
    status = sqlite::StepDone(statements_->commit.get(), "commit");
  }
  if (!status.ok() && !sqlite3_get_autocommit(db_.get())) {
    sqlite::ScopedReset reset(statements_->rollback.get());
    sqlite3_step(statements_->rollback.get());
  }
  return status;
}

absl::Status SqliteReadOutbox::Append(const std::vector<analytics_v1::RecordReadRequest>& reads,
                                      absl::Time now) {
  if (reads.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  return InTransaction([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    sqlite3_stmt* insert = statements_->insert.get();
    std::string bytes;
    for (const analytics_v1::RecordReadRequest& read : reads) {
      if (!read.SerializeToString(&bytes)) return absl::InternalError("cannot serialize a read");
      sqlite::ScopedReset reset(insert);
      NEWSROOM_RETURN_IF_ERROR(sqlite::BindInt(insert, 1, absl::ToUnixMicros(now)));
      NEWSROOM_RETURN_IF_ERROR(sqlite::BindBlob(insert, 2, bytes));
      NEWSROOM_RETURN_IF_ERROR(sqlite::StepDone(insert, "save a read"));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<OutboxEntry>> SqliteReadOutbox::Oldest(std::size_t limit) {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* oldest = statements_->oldest.get();
  sqlite::ScopedReset reset(oldest);
  NEWSROOM_RETURN_IF_ERROR(sqlite::BindInt(oldest, 1, static_cast<int64_t>(limit)));
  std::vector<OutboxEntry> entries;
  int rc;
  while ((rc = sqlite3_step(oldest)) == SQLITE_ROW) {
    OutboxEntry& entry = entries.emplace_back();
    entry.id = sqlite3_column_int64(oldest, 0);
    entry.queued_at = absl::FromUnixMicros(sqlite3_column_int64(oldest, 1));
    if (!entry.read.ParseFromArray(sqlite3_column_blob(oldest, 2),
                                   sqlite3_column_bytes(oldest, 2))) {
      return absl::InternalError(absl::StrCat("read outbox: entry ", entry.id, " is corrupt"));
    }
  }
  if (rc != SQLITE_DONE) return sqlite::Error(rc, "read the outbox");
  return entries;
}

absl::Status SqliteReadOutbox::Remove(const std::vector<int64_t>& ids) {
  if (ids.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* remove = statements_->remove.get();
  sqlite::ScopedReset reset(remove);
  NEWSROOM_RETURN_IF_ERROR(
      sqlite::BindText(remove, 1, absl::StrCat("[", absl::StrJoin(ids, ","), "]")));
  return sqlite::StepDone(remove, "remove delivered reads");
}

absl::StatusOr<int64_t> SqliteReadOutbox::RemoveQueuedBefore(absl::Time cutoff) {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* remove = statements_->remove_before.get();
  sqlite::ScopedReset reset(remove);
  NEWSROOM_RETURN_IF_ERROR(sqlite::BindInt(remove, 1, absl::ToUnixMicros(cutoff)));
  NEWSROOM_RETURN_IF_ERROR(sqlite::StepDone(remove, "remove expired reads"));
  return static_cast<int64_t>(sqlite3_changes(db_.get()));
}

absl::StatusOr<int64_t> SqliteReadOutbox::Count() {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* count = statements_->count.get();
  sqlite::ScopedReset reset(count);
  const int rc = sqlite3_step(count);
  if (rc != SQLITE_ROW) return sqlite::Error(rc, "count the outbox");
  return static_cast<int64_t>(sqlite3_column_int64(count, 0));
}

}  // namespace newsroom::content
