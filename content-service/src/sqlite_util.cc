#include "content-service/src/sqlite_util.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace newsroom::content::sqlite {
namespace {

// Binding a null pointer would bind SQL NULL rather than an empty string or blob.
constexpr char kEmpty[] = "";

}  // namespace

absl::Status Error(int rc, absl::string_view what) {
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return absl::UnavailableError(absl::StrCat("database is busy: ", what));
  }
  return absl::InternalError(
      absl::StrCat("database: ", what, " failed (", sqlite3_errstr(rc), ")"));
}

absl::Status BindText(sqlite3_stmt* statement, int index, absl::string_view text) {
  const int rc = sqlite3_bind_text64(statement, index, text.empty() ? kEmpty : text.data(),
                                     text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return rc == SQLITE_OK ? absl::OkStatus() : Error(rc, "bind");
}

absl::Status BindBlob(sqlite3_stmt* statement, int index, absl::string_view bytes) {
  const int rc = sqlite3_bind_blob64(statement, index, bytes.empty() ? kEmpty : bytes.data(),
                                     bytes.size(), SQLITE_TRANSIENT);
  return rc == SQLITE_OK ? absl::OkStatus() : Error(rc, "bind");
}

absl::Status BindInt(sqlite3_stmt* statement, int index, int64_t value) {
  const int rc = sqlite3_bind_int64(statement, index, value);
  return rc == SQLITE_OK ? absl::OkStatus() : Error(rc, "bind");
}

absl::Status StepDone(sqlite3_stmt* statement, absl::string_view what) {
  const int rc = sqlite3_step(statement);
  return rc == SQLITE_DONE ? absl::OkStatus() : Error(rc, what);
}

absl::Status Exec(sqlite3* db, const char* sql, absl::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? absl::OkStatus() : Error(rc, what);
}

absl::Status Prepare(sqlite3* db, const char* sql, StatementPtr& out) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  out.reset(raw);
  return rc == SQLITE_OK ? absl::OkStatus() : Error(rc, "prepare statement");
}

absl::Status Open(const std::string& path, DbPtr& out) {
  if (path.empty()) return absl::InvalidArgumentError("database path is empty");
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  out.reset(raw);  // a handle is returned (and must be closed) even when opening fails
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat("cannot open database ", path, ": ",
                                            raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  if (path != ":memory:") {
    return Exec(raw, "PRAGMA journal_mode = WAL", "enable WAL");
  }
  return absl::OkStatus();
}

}  // namespace newsroom::content::sqlite
