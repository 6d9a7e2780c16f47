#pragma once

// A real PostgreSQL server for tests, from Debian's packages, in a temp dir on a free loopback
// port.

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace newsroom::testing {

// initdb + postgres (PostgreSQL 15, $PG_BIN or /usr/lib/postgresql/15/bin) with its data, socket
// and log in a temp dir, listening on 127.0.0.1 only. initdb runs once a process: each server
// starts from a copy of that cluster (the same user and password, data of its own). PostgreSQL
// refuses to run as root, so a root test runs it as the `postgres` system user (from Debian's
// postgresql-common), else as `nobody`, with the temp dir handed to that user. Logins over TCP need
// the password (scram-sha-256). Stop() and Start() keep the port and the data, so tests can restart
// the server under a client.
class PostgresServer final {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  void Start();
  // Fast shutdown (SIGINT): open sessions are ended, committed data kept.
  void Stop();

  int port() const { return port_; }
  static constexpr char kUser[] = "newsroom";
  const std::string& password() const { return password_; }
  // `postgresql://newsroom@127.0.0.1:PORT/DATABASE`, without the password.
  std::string Url(const std::string& database) const;
  // Creates an empty database (the name must be a plain lowercase identifier).
  void CreateDatabase(const std::string& name);
  // Runs our own test SQL (never input) in `database` as the test user, failing the test when it
  // fails; returns the first column of the rows it returned.
  std::vector<std::string> Execute(const std::string& database, const std::string& sql);
  const std::string& log_path() const { return log_path_; }

 private:
  // argv run as the server's user (through setpriv when this process is root).
  std::vector<std::string> AsServerUser(std::vector<std::string> argv) const;

  TempDir dir_;
  std::string data_dir_;
  std::string log_path_;
  std::string password_;
  int uid_ = -1;  // -1: run as this process's user
  int gid_ = -1;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace newsroom::testing
