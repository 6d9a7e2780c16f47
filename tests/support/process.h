#pragma once

// Test harness for real processes: a child process with its stdout captured, a temporary directory,
// free loopback ports, and a real redis-server. Integration tests only; nothing here is mocked.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace newsroom::testing {

// A directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir final {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The whole contents of the file at `path` ("" when it cannot be read), e.g. a service's log.
std::string ReadFile(const std::string& path);

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int PickFreePort();

// Resident memory of process `pid` in KiB (VmRSS in /proc), or -1 when it cannot be read.
long ResidentKib(pid_t pid);

// A child process whose stdout is read line by line; stderr is passed through to the test's own
// stderr so that ctest shows it on failure. The destructor kills (SIGKILL) and reaps the child.
class ChildProcess final {
 public:
  // Starts `argv[0]` (a path) with `argv`, adding `env` (NAME=VALUE) to this process's environment.
  // With `stderr_path`, the child's stderr is appended to that file instead (for tests that check
  // what a process logs).
  ChildProcess(std::vector<std::string> argv, std::vector<std::string> env = {},
               const std::string& stderr_path = "");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Returns the first stdout line (read from now on) that contains `needle`, or nullopt when the
  // process closes stdout or `timeout` passes first.
  std::optional<std::string> WaitForLine(const std::string& needle,
                                         std::chrono::milliseconds timeout);

  // The port of the first such line ("... listening on HOST:PORT"), or nullopt as WaitForLine.
  std::optional<int> WaitForPort(const std::string& needle, std::chrono::milliseconds timeout);

  // Every stdout line read so far.
  const std::vector<std::string>& lines() const { return lines_; }

  void Signal(int signal_number);

  // Waits for the process to end and returns its exit code (128 + signal when killed), or nullopt
  // when `timeout` passes first.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  bool ReadMore(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  std::vector<std::string> lines_;
  std::size_t next_line_ = 0;
  int exit_code_ = -1;
};

// Starts a service binary with `--listen=127.0.0.1:0` plus `args` and waits for its
// "listening on HOST:PORT" line. Returns the process and the bound port.
struct StartedService {
  std::unique_ptr<ChildProcess> process;
  int port = 0;
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};
StartedService StartService(const std::string& binary, std::vector<std::string> args,
                            std::vector<std::string> env = {}, const std::string& stderr_path = "");

struct RedisServerOptions {
  // AOF persistence (fsync every write), so a restart keeps every count.
  bool append_only = true;
  // Lines of a Redis ACL file (aclfile), e.g. "user default off" and
  // "user app on >secret ~app:* -@all +get". Empty: no ACL file, the default user open to all.
  std::vector<std::string> acl_rules;
};

// A real redis-server on a free loopback port, with its data directory in a temp dir. Stop() and
// Start() keep the port and the directory, so tests can take Redis down and bring it back.
class RedisServer final {
 public:
  // `append_only` turns on AOF persistence (fsync every write) so a restart keeps every count.
  explicit RedisServer(bool append_only = true);
  explicit RedisServer(RedisServerOptions options);
  ~RedisServer();

  void Start();
  // Stops Redis with SIGTERM (it finishes writing the AOF) or, with Kill, SIGKILL (a crash; with
  // fsync on every write nothing acknowledged is lost either way).
  void Stop();
  void Kill();

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  TempDir dir_;
  bool append_only_;
  std::string acl_file_;  // empty: none
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// Path of redis-server: $REDIS_SERVER, else /usr/bin/redis-server.
std::string RedisServerBinary();

}  // namespace newsroom::testing
