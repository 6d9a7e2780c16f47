#pragma once

// A small pool of libpq connections to one PostgreSQL database, with reconnect and one safe retry.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

struct pg_conn;
struct pg_result;

namespace newsroom::content {

struct PostgresOptions {
  // `postgresql://USER@HOST:PORT/DATABASE?...` (or `postgres://`), without a password.
  std::string url;
  // The password; empty leaves it to libpq (env PGPASSWORD, or the PGPASSFILE file).
  std::string password;
  // Connections opened at most; each is opened when first needed.
  int pool_size = 4;
  // Longest wait for a free connection before UNAVAILABLE.
  absl::Duration acquire_timeout = absl::Seconds(5);
};

// True when `db` names a PostgreSQL database (a `postgresql://` or `postgres://` URL).
[[nodiscard]] bool IsPostgresUrl(absl::string_view db);

// Returns INVALID_ARGUMENT when `url` does not parse or carries a password (in the userinfo or as
// `?password=`): a password on the command line shows in `ps`. The message never repeats the URL.
[[nodiscard]] absl::Status CheckPostgresUrl(absl::string_view url);

// Opens one connection with our session settings (5 s statement and lock timeouts, quiet notices)
// under `application_name` (a string constant), which shows in pg_stat_activity and in the log
// line of any message the server sends unasked. UNAVAILABLE when the server cannot
// be reached or refuses the login; the message names the reason, never the password. The caller
// owns the connection (PQfinish).
[[nodiscard]] absl::StatusOr<pg_conn*> OpenPostgresConnection(const PostgresOptions& options,
                                                              const char* application_name);

struct PgResultDeleter {
  void operator()(pg_result* result) const;
};
using PgResultPtr = std::unique_ptr<pg_result, PgResultDeleter>;

// One query parameter, sent as text or (for bytea) as raw bytes.
struct PgParam {
  std::string value;
  bool binary = false;
};

// A borrowed connection, valid inside PostgresPool::Run.
class PostgresSession final {
 public:
  explicit PostgresSession(pg_conn* conn) : conn_(conn) {}

  // Runs one parameterised statement (never SQL built from input). Rows come back as binary when
  // `binary_result`. Errors: UNAVAILABLE when the connection is lost or the server is shutting
  // down, busy past its lock or statement timeout, or a transaction must be retried; INTERNAL
  // otherwise, naming `what` and the SQLSTATE only.
  [[nodiscard]] absl::StatusOr<PgResultPtr> Exec(const char* sql,
                                                 const std::vector<PgParam>& params,
                                                 absl::string_view what,
                                                 bool binary_result = false);

  // Runs our own constant SQL, which may hold several statements (schema migrations); no input.
  [[nodiscard]] absl::Status ExecScript(const char* sql, absl::string_view what);

  // Runs `body` between BEGIN and COMMIT, rolling back when it fails.
  [[nodiscard]] absl::Status InTransaction(absl::FunctionRef<absl::Status()> body);

  // Whether a statement found the connection broken, and whether a COMMIT was sent (after which
  // the outcome of a lost transaction is unknown, so it must not be retried).
  bool connection_lost() const { return connection_lost_; }
  bool commit_sent() const { return commit_sent_; }

 private:
  absl::StatusOr<PgResultPtr> Check(PgResultPtr result, absl::string_view what);

  pg_conn* conn_;
  bool connection_lost_ = false;
  bool commit_sent_ = false;
};

class PostgresPool final {
 public:
  // Checks the URL and opens the first connection, so a wrong address or password fails at start
  // (UNAVAILABLE when the server cannot be reached or refuses the login).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<PostgresPool>> Open(PostgresOptions options);
  ~PostgresPool();
  PostgresPool(const PostgresPool&) = delete;
  PostgresPool& operator=(const PostgresPool&) = delete;

  enum class Kind { kRead, kWrite };

  // Runs `body` on a pooled connection. A broken connection (the server restarted) is reset and
  // `body` run once more: always for reads, and for writes only when no COMMIT had been sent,
  // since PostgreSQL rolls back a transaction whose connection is lost. A write whose COMMIT was
  // lost returns UNAVAILABLE without a retry: it may or may not have happened.
  [[nodiscard]] absl::Status Run(Kind kind, absl::FunctionRef<absl::Status(PostgresSession&)> body);

 private:
  explicit PostgresPool(PostgresOptions options);
  absl::StatusOr<pg_conn*> Acquire();
  void Release(pg_conn* conn);
  // Makes `conn` usable again after the server dropped it; false when the server is still away.
  static bool Reset(pg_conn* conn);

  const PostgresOptions options_;
  absl::Mutex mu_;
  std::vector<pg_conn*> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace newsroom::content
