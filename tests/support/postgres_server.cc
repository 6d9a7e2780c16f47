#include "tests/support/postgres_server.h"

#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <utility>

namespace newsroom::testing {
namespace {

[[noreturn]] void Fail(const std::string& what) { throw std::runtime_error(what); }

std::string PgBin(const std::string& program) {
  const char* dir = std::getenv("PG_BIN");
  return std::string(dir != nullptr && *dir != '\0' ? dir : "/usr/lib/postgresql/15/bin") + "/" +
         program;
}

// Hands `path` and everything under it to `uid`:`gid`.
void ChownTree(const std::string& path, int uid, int gid) {
  if (chown(path.c_str(), uid, gid) != 0) Fail("cannot chown " + path);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
    if (lchown(entry.path().c_str(), uid, gid) != 0) Fail("cannot chown " + entry.path().string());
  }
}

// argv run as `uid`:`gid` (through setpriv), or as this process's user when `uid` is -1.
std::vector<std::string> AsUser(int uid, int gid, std::vector<std::string> argv) {
  if (uid < 0) return argv;
  // setpriv execs in place (no fork), so the pid we hold is the program's own.
  std::vector<std::string> wrapped = {"/usr/bin/setpriv", "--reuid=" + std::to_string(uid),
                                      "--regid=" + std::to_string(gid), "--clear-groups", "--"};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

// A cluster made by initdb and never started, which every server of this process starts from a
// copy of: initdb takes about 2 s of CPU (4 s of a busy machine), a copy a fifth of that, and a
// test binary may start a server per test. Its temp dir goes when the process exits.
class ClusterTemplate final {
 public:
  ClusterTemplate(int uid, int gid)
      : data_dir_(dir_.path() + "/data"),
        password_("test-" + std::to_string(getpid()) + "-" + std::to_string(PickFreePort())) {
    const std::string password_file = dir_.path() + "/password";
    const std::string log_path = dir_.path() + "/initdb.log";
    {
      std::ofstream file(password_file);
      file << password_ << '\n';
      if (!file.flush()) Fail("cannot write " + password_file);
    }
    std::ofstream(log_path).flush();
    if (uid >= 0) ChownTree(dir_.path(), uid, gid);
    ChildProcess initdb(
        AsUser(uid, gid,
               {PgBin("initdb"), "--pgdata=" + data_dir_,
                std::string("--username=") + PostgresServer::kUser, "--pwfile=" + password_file,
                "--auth-host=scram-sha-256", "--auth-local=trust", "--encoding=UTF8",
                "--locale=C.UTF-8", "--no-sync"}),
        {}, log_path);
    const auto code = initdb.Wait(std::chrono::seconds(120));
    // The log goes with the temp dir at exit: its text goes with the failure.
    if (code != 0) Fail("initdb failed:\n" + ReadFile(log_path));
    std::filesystem::remove(password_file);
  }

  const std::string& data_dir() const { return data_dir_; }
  const std::string& password() const { return password_; }

 private:
  TempDir dir_;
  std::string data_dir_;
  std::string password_;
};

// One template a process; `uid` and `gid` are the same on every call (the process's user decides).
const ClusterTemplate& SharedTemplate(int uid, int gid) {
  static const ClusterTemplate cluster(uid, gid);
  return cluster;
}

}  // namespace

PostgresServer::PostgresServer()
    : data_dir_(dir_.path() + "/data"), log_path_(dir_.path() + "/postgres.log") {
  if (geteuid() == 0) {
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) user = getpwnam("nobody");
    if (user == nullptr) Fail("no unprivileged user (postgres or nobody) to run PostgreSQL as");
    uid_ = static_cast<int>(user->pw_uid);
    gid_ = static_cast<int>(user->pw_gid);
  }
  const ClusterTemplate& cluster = SharedTemplate(uid_, gid_);
  password_ = cluster.password();
  // Copies keep each file's mode (PostgreSQL insists on a 0700 data dir), not its owner.
  std::filesystem::copy(cluster.data_dir(), data_dir_, std::filesystem::copy_options::recursive);
  std::ofstream(log_path_).flush();
  if (uid_ >= 0) ChownTree(dir_.path(), uid_, gid_);
  Start();
  CreateDatabase("newsroom");
}

PostgresServer::~PostgresServer() { Stop(); }

std::vector<std::string> PostgresServer::AsServerUser(std::vector<std::string> argv) const {
  return AsUser(uid_, gid_, std::move(argv));
}

void PostgresServer::Start() {
  // The port is chosen once and kept, so a restarted server is where clients expect it; another
  // process may take a just-released port, hence fresh ones on a failed first start.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = PickFreePort();
    process_ = std::make_unique<ChildProcess>(
        AsServerUser({PgBin("postgres"), "-D", data_dir_, "-p", std::to_string(port_), "-c",
                      "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + dir_.path(),
                      // Throwaway data: no need to survive a machine crash, only a server restart.
                      "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=60"}),
        std::vector<std::string>{}, log_path_);
    const std::string ping = "host=127.0.0.1 port=" + std::to_string(port_) +
                             " dbname=postgres connect_timeout=2 user=" + kUser;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (PQping(ping.c_str()) == PQPING_OK) return;
      if (process_->Wait(std::chrono::milliseconds(50)).has_value()) break;  // exited
    }
  }
  Fail("postgres did not start; see " + log_path_);
}

void PostgresServer::Stop() {
  if (process_ == nullptr) return;
  process_->Signal(SIGINT);
  process_->Wait(std::chrono::seconds(30));
  process_.reset();
}

std::string PostgresServer::Url(const std::string& database) const {
  return std::string("postgresql://") + kUser + "@127.0.0.1:" + std::to_string(port_) + "/" +
         database;
}

void PostgresServer::CreateDatabase(const std::string& name) {
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
      Fail("not a plain database name: " + name);
    }
  }
  // CREATE DATABASE takes no parameters; the name was checked to be a plain identifier above.
  Execute("postgres", "CREATE DATABASE " + name);
}

std::vector<std::string> PostgresServer::Execute(const std::string& database,
                                                 const std::string& sql) {
  const std::string conninfo = "host=127.0.0.1 port=" + std::to_string(port_) +
                               " dbname=" + database + " user=" + kUser + " password=" + password_;
  PGconn* conn = PQconnectdb(conninfo.c_str());
  PGresult* result = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, sql.c_str()) : nullptr;
  const ExecStatusType status = result == nullptr ? PGRES_FATAL_ERROR : PQresultStatus(result);
  std::vector<std::string> first_column;
  if (status == PGRES_TUPLES_OK) {
    for (int row = 0; row < PQntuples(result); ++row) {
      first_column.emplace_back(PQgetvalue(result, row, 0));
    }
  }
  const std::string error = PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) Fail(sql + " failed: " + error);
  return first_column;
}

}  // namespace newsroom::testing
