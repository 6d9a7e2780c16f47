#pragma once

// Small RAII and status helpers shared by content-service's SQLite-backed stores.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace newsroom::content::sqlite {

// How long a connection waits for another one's write lock before giving up (UNAVAILABLE).
inline constexpr int kBusyTimeoutMs = 5000;

struct StatementDeleter {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

// Resets a cached statement and clears its bindings when the scope ends, so that it is ready for
// its next use whichever way this one ended.
class ScopedReset final {
 public:
  explicit ScopedReset(sqlite3_stmt* statement) : statement_(statement) {}
  ~ScopedReset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  sqlite3_stmt* const statement_;
};

// The status for a failed SQLite call: no query text, only what failed and SQLite's generic
// description of the result code. A busy or locked database is UNAVAILABLE (worth retrying).
absl::Status Error(int rc, absl::string_view what);

absl::Status BindText(sqlite3_stmt* statement, int index, absl::string_view text);
absl::Status BindBlob(sqlite3_stmt* statement, int index, absl::string_view bytes);
absl::Status BindInt(sqlite3_stmt* statement, int index, int64_t value);

// Steps a statement that returns no rows.
absl::Status StepDone(sqlite3_stmt* statement, absl::string_view what);

// Runs SQL that returns no rows and takes no parameters (our own constants only).
absl::Status Exec(sqlite3* db, const char* sql, absl::string_view what);

// Prepares a statement kept for the connection's lifetime.
absl::Status Prepare(sqlite3* db, const char* sql, StatementPtr& out);

// Opens (creating if needed) the database at `path` with the busy timeout set and, for a file,
// write-ahead logging, so that readers in other processes proceed while this one writes.
absl::Status Open(const std::string& path, DbPtr& out);

}  // namespace newsroom::content::sqlite
