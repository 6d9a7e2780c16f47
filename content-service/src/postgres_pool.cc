#include "content-service/src/postgres_pool.h"

#include <libpq-fe.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/src/log.h"
#include "common/src/startup_retry.h"

namespace newsroom::content {
namespace {

// SQLSTATEs worth retrying later: the server is going away or starting, a lock or statement
// timeout, a serialization failure or deadlock. Class 08 (connection exceptions) too.
bool IsTransient(absl::string_view sqlstate) {
  if (absl::StartsWith(sqlstate, "08")) return true;
  for (const char* code :
       {"57P01", "57P02", "57P03", "57014", "55P03", "40001", "40P01", "53300"}) {
    if (sqlstate == code) return true;
  }
  return false;
}

// A notice or error the server sent unasked, as one log line; `connection` is its
// application_name, a string constant.
void LogNotice(void* connection, const char* message) {
  std::string text = message;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  log::Warning("message from the article database",
               {{"connection", static_cast<const char*>(connection)}, {"message", text}});
}

}  // namespace

bool IsPostgresUrl(absl::string_view db) {
  return absl::StartsWith(db, "postgresql://") || absl::StartsWith(db, "postgres://");
}

absl::Status CheckPostgresUrl(absl::string_view url) {
  if (!IsPostgresUrl(url)) {
    return absl::InvalidArgumentError("--db: expected a postgresql:// or postgres:// URL");
  }
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(url).c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);  // may quote the URL, so it is not shown
    return absl::InvalidArgumentError("--db: not a valid PostgreSQL URL");
  }
  bool has_password = false;
  for (const PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (std::strcmp(option->keyword, "password") == 0 && option->val != nullptr &&
        option->val[0] != '\0') {
      has_password = true;
    }
  }
  PQconninfoFree(options);
  if (has_password) {
    return absl::InvalidArgumentError(
        "--db: the URL holds a password, which `ps` would show; remove it and give the password "
        "in env PGPASSWORD, a PGPASSFILE file, or --db_password_file");
  }
  return absl::OkStatus();
}

absl::StatusOr<pg_conn*> OpenPostgresConnection(const PostgresOptions& options,
                                                const char* application_name) {
  // Our defaults come before the URL, so that the URL's own settings win; the password comes
  // after it (the URL may not hold one). statement_timeout and lock_timeout match SQLite's 5 s
  // busy wait: a stuck query becomes UNAVAILABLE rather than a hung call. Notices (e.g. "already
  // exists, skipping") are not for the log.
  std::vector<const char*> keywords = {"connect_timeout", "application_name", "options", "dbname"};
  std::vector<const char*> values = {
      "5", application_name,
      "-c statement_timeout=5000 -c lock_timeout=5000 -c client_min_messages=warning",
      options.url.c_str()};
  if (!options.password.empty()) {
    keywords.push_back("password");
    values.push_back(options.password.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* conn = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("article database: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    // libpq's message names the host and the reason (refused, password failed), never the
    // password; it is the one thing an operator needs to fix the setting.
    std::string reason = PQerrorMessage(conn);
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    // A server that asked for a password answered: what failed then (the password, the role, the
    // database) is the deployment's to fix, not worth waiting for at start (startup_retry.h).
    const bool answered = PQconnectionNeedsPassword(conn) || PQconnectionUsedPassword(conn);
    PQfinish(conn);
    absl::Status status =
        absl::UnavailableError(absl::StrCat("article database unreachable: ", reason));
    return answered ? RefusedByStore(std::move(status)) : status;
  }
  // libpq writes what the server says unasked (a warning, or "terminating connection" before it
  // closes one) to stderr as plain text; it goes into our JSON log instead.
  PQsetNoticeProcessor(conn, &LogNotice, const_cast<char*>(application_name));
  return conn;
}

void PgResultDeleter::operator()(pg_result* result) const { PQclear(result); }

absl::StatusOr<PgResultPtr> PostgresSession::Exec(const char* sql,
                                                  const std::vector<PgParam>& params,
                                                  absl::string_view what, bool binary_result) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const PgParam& param : params) {
    values.push_back(param.value.c_str());
    lengths.push_back(static_cast<int>(param.value.size()));
    formats.push_back(param.binary ? 1 : 0);
  }
  PgResultPtr result(PQexecParams(conn_, sql, static_cast<int>(params.size()), nullptr,
                                  values.data(), lengths.data(), formats.data(),
                                  binary_result ? 1 : 0));
  return Check(std::move(result), what);
}

absl::Status PostgresSession::ExecScript(const char* sql, absl::string_view what) {
  return Check(PgResultPtr(PQexec(conn_, sql)), what).status();
}

absl::StatusOr<PgResultPtr> PostgresSession::Check(PgResultPtr result, absl::string_view what) {
  const ExecStatusType status =
      result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result.get());
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;

  const char* sqlstate =
      result == nullptr ? nullptr : PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
  const absl::string_view code = sqlstate == nullptr ? "" : sqlstate;
  if (PQstatus(conn_) == CONNECTION_BAD) {
    connection_lost_ = true;
    return absl::UnavailableError(absl::StrCat("article database unreachable: ", what));
  }
  if (IsTransient(code)) {
    return absl::UnavailableError(
        absl::StrCat("article database busy: ", what, " (SQLSTATE ", code, ")"));
  }
  return absl::InternalError(
      absl::StrCat("article database: ", what, " failed (SQLSTATE ", code, ")"));
}

absl::Status PostgresSession::InTransaction(absl::FunctionRef<absl::Status()> body) {
  if (absl::Status begin = Exec("BEGIN", {}, "begin transaction").status(); !begin.ok()) {
    return begin;
  }
  absl::Status status = body();
  if (status.ok()) {
    commit_sent_ = true;
    status = Exec("COMMIT", {}, "commit").status();
  }
  if (!status.ok() && !connection_lost_ && PQtransactionStatus(conn_) != PQTRANS_IDLE) {
    Exec("ROLLBACK", {}, "rollback").status().IgnoreError();
  }
  return status;
}

PostgresPool::PostgresPool(PostgresOptions options) : options_(std::move(options)) {}

PostgresPool::~PostgresPool() {
  absl::MutexLock lock(&mu_);
  for (pg_conn* conn : idle_) PQfinish(conn);
}

absl::StatusOr<std::unique_ptr<PostgresPool>> PostgresPool::Open(PostgresOptions options) {
  if (absl::Status url = CheckPostgresUrl(options.url); !url.ok()) return url;
  if (options.pool_size < 1 || options.pool_size > 100) {
    return absl::InvalidArgumentError("--db_pool_size: must be between 1 and 100");
  }
  std::unique_ptr<PostgresPool> pool(new PostgresPool(std::move(options)));
  absl::StatusOr<pg_conn*> first = pool->Acquire();
  if (!first.ok()) return first.status();
  pool->Release(*first);
  return pool;
}

absl::StatusOr<pg_conn*> PostgresPool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.pool_size;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&available), options_.acquire_timeout)) {
      return absl::UnavailableError("article database: every pooled connection is busy");
    }
    if (!idle_.empty()) {
      pg_conn* conn = idle_.back();
      idle_.pop_back();
      return conn;
    }
    ++open_;  // reserved while connecting outside the lock
  }
  absl::StatusOr<pg_conn*> conn = OpenPostgresConnection(options_, "content-service");
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
  }
  return conn;
}

void PostgresPool::Release(pg_conn* conn) {
  absl::MutexLock lock(&mu_);
  idle_.push_back(conn);
}

bool PostgresPool::Reset(pg_conn* conn) {
  PQreset(conn);
  return PQstatus(conn) == CONNECTION_OK;
}

absl::Status PostgresPool::Run(Kind kind, absl::FunctionRef<absl::Status(PostgresSession&)> body) {
  absl::StatusOr<pg_conn*> acquired = Acquire();
  if (!acquired.ok()) return acquired.status();
  pg_conn* conn = *acquired;
  absl::Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // A connection the server dropped earlier (restart, failover) is reopened first.
    if (PQstatus(conn) != CONNECTION_OK && !Reset(conn)) {
      status = absl::UnavailableError("article database unreachable");
      break;
    }
    PostgresSession session(conn);
    status = body(session);
    if (status.ok() || !session.connection_lost()) break;
    if (kind == Kind::kWrite && session.commit_sent()) {
      status = absl::UnavailableError(
          "article database connection lost during commit; the write may or may not have been "
          "applied");
      break;
    }
  }
  Release(conn);
  return status;
}

}  // namespace newsroom::content
