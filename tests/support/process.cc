#include "tests/support/process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace newsroom::testing {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Fail(const std::string& what) { throw std::runtime_error(what); }

bool CanConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// `argv` plus `--aclfile acl_file` when there is one.
std::vector<std::string> WithAclFile(const std::string& acl_file, std::vector<std::string> argv) {
  if (!acl_file.empty()) argv.insert(argv.end(), {"--aclfile", acl_file});
  return argv;
}

}  // namespace

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/newsroom-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) Fail("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

long ResidentKib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

int PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) Fail("bind failed");
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

ChildProcess::ChildProcess(std::vector<std::string> argv, std::vector<std::string> env,
                           const std::string& stderr_path) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) Fail("pipe failed");

  std::vector<char*> c_argv;
  for (auto& arg : argv) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e) env_storage.emplace_back(*e);
  for (auto& e : env) env_storage.push_back(e);
  std::vector<char*> c_env;
  for (auto& e : env_storage) c_env.push_back(e.data());
  c_env.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  if (!stderr_path.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
  }
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // The test may block signals (gRPC does not), but the child must start with none blocked.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  const int rc = posix_spawn(&pid_, c_argv[0], &actions, &attributes, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(pipe_fds[1]);
  if (rc != 0) {
    close(pipe_fds[0]);
    Fail("cannot start " + argv[0]);
  }
  stdout_fd_ = pipe_fds[0];
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

bool ChildProcess::ReadMore(std::chrono::milliseconds timeout) {
  if (stdout_fd_ < 0) return false;
  pollfd pfd{stdout_fd_, POLLIN, 0};
  if (poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char chunk[4096];
  const ssize_t n = read(stdout_fd_, chunk, sizeof chunk);
  if (n <= 0) {
    close(stdout_fd_);
    stdout_fd_ = -1;
    if (!buffer_.empty()) lines_.push_back(std::move(buffer_));  // a last line without newline
    buffer_.clear();
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  for (std::size_t newline; (newline = buffer_.find('\n')) != std::string::npos;) {
    lines_.push_back(buffer_.substr(0, newline));
    buffer_.erase(0, newline + 1);
  }
  return true;
}

std::optional<std::string> ChildProcess::WaitForLine(const std::string& needle,
                                                     std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    for (; next_line_ < lines_.size(); ++next_line_) {
      if (lines_[next_line_].find(needle) != std::string::npos) return lines_[next_line_++];
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    if (!ReadMore(left) && stdout_fd_ < 0) return std::nullopt;
  }
}

std::optional<int> ChildProcess::WaitForPort(const std::string& needle,
                                             std::chrono::milliseconds timeout) {
  const std::optional<std::string> line = WaitForLine(needle, timeout);
  if (!line) return std::nullopt;
  return std::stoi(line->substr(line->rfind(':') + 1));
}

void ChildProcess::Signal(int signal_number) {
  if (pid_ > 0) kill(pid_, signal_number);
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_code_;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t done = waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      pid_ = -1;
      // Keep what the child wrote just before it exited.
      while (ReadMore(std::chrono::milliseconds(100))) {
      }
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    // Keep draining stdout so that a chatty child never blocks on a full pipe.
    if (!ReadMore(std::chrono::milliseconds(20))) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
}

StartedService StartService(const std::string& binary, std::vector<std::string> args,
                            std::vector<std::string> env, const std::string& stderr_path) {
  std::vector<std::string> argv{binary, "--listen=127.0.0.1:0"};
  for (auto& arg : args) argv.push_back(std::move(arg));
  StartedService started{
      std::make_unique<ChildProcess>(std::move(argv), std::move(env), stderr_path)};
  const std::optional<int> port =
      started.process->WaitForPort("listening on ", std::chrono::seconds(20));
  if (!port) Fail(binary + " did not report its port");
  started.port = *port;
  return started;
}

std::string RedisServerBinary() {
  const char* path = std::getenv("REDIS_SERVER");
  return path != nullptr && *path != '\0' ? path : "/usr/bin/redis-server";
}

RedisServer::RedisServer(bool append_only) : append_only_(append_only) { Start(); }

RedisServer::RedisServer(RedisServerOptions options) : append_only_(options.append_only) {
  if (!options.acl_rules.empty()) {
    acl_file_ = dir_.path() + "/users.acl";
    std::ofstream file(acl_file_);
    for (const std::string& rule : options.acl_rules) file << rule << '\n';
    if (!file.flush()) Fail("cannot write " + acl_file_);
  }
  Start();
}

RedisServer::~RedisServer() { Stop(); }

void RedisServer::Start() {
  // The port is chosen once and kept, so a restarted Redis is where clients expect it. Another
  // process may take a just-released port, hence the retries with a fresh one on the first start.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (port_ == 0 || attempt > 0) port_ = PickFreePort();
    process_ = std::make_unique<ChildProcess>(WithAclFile(
        acl_file_, {RedisServerBinary(), "--port", std::to_string(port_), "--bind", "127.0.0.1",
                    "--dir", dir_.path(), "--save", "", "--appendonly", append_only_ ? "yes" : "no",
                    "--appendfsync", "always", "--daemonize", "no", "--protected-mode", "yes",
                    "--logfile", dir_.path() + "/redis.log"}));
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      if (CanConnect(port_)) return;
      if (process_->Wait(std::chrono::milliseconds(20)).has_value()) break;  // exited: port taken
    }
  }
  Fail("redis-server did not start; see " + dir_.path() + "/redis.log");
}

void RedisServer::Kill() {
  if (process_ == nullptr) return;
  process_->Signal(SIGKILL);
  process_->Wait(std::chrono::seconds(10));
  process_.reset();
}

void RedisServer::Stop() {
  if (process_ == nullptr) return;
  process_->Signal(SIGTERM);
  process_->Wait(std::chrono::seconds(10));
  process_.reset();
}

}  // namespace newsroom::testing
