#include "content-service/src/article_change_listener.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/src/log.h"

namespace newsroom::content {
namespace {

// Pings start with this; article ids start with a lowercase letter or digit, so no announcement
// of an article is ever taken for a ping.
constexpr char kPingMark[] = "#ping ";

// libpq's message for the last failure on `conn`, without its trailing newline.
std::string ConnectionError(pg_conn* conn) {
  std::string message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

std::string NewPingPrefix() {
  absl::BitGen random;
  return absl::StrCat(kPingMark, absl::Hex(absl::Uniform<std::uint64_t>(random)), " ");
}

}  // namespace

ArticleChangeListener::ArticleChangeListener(PostgresOptions database,
                                             ArticleChangeCallbacks callbacks,
                                             ArticleChangeListenerOptions options)
    : database_(std::move(database)),
      callbacks_(std::move(callbacks)),
      options_(std::move(options)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      wake_fd_errno_(wake_fd_ < 0 ? errno : 0),
      ping_prefix_(NewPingPrefix()),
      thread_([this] { Run(); }) {}

ArticleChangeListener::~ArticleChangeListener() {
  stopping_.store(true);
  const std::uint64_t one = 1;
  if (wake_fd_ >= 0 && write(wake_fd_, &one, sizeof one) < 0) {
    // Only a full counter fails, and then the thread is awake anyway.
  }
  thread_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

ArticleChangeListener::Ready ArticleChangeListener::WaitFor(int fd, absl::Time deadline) {
  while (!stopping_.load()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return Ready::kTimedOut;
    // Without an eventfd (see Run) the wait is cut into short slices, so stopping still happens.
    const int64_t slice_ms = wake_fd_ >= 0 ? 60'000 : 100;
    const int timeout_ms =
        static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, slice_ms));
    pollfd fds[2] = {{.fd = wake_fd_, .events = POLLIN, .revents = 0},
                     {.fd = fd, .events = POLLIN, .revents = 0}};
    const int ready = poll(fds, 2, timeout_ms);  // a negative fd is left out
    if (ready < 0) {
      // EINTR; anything else (ENOMEM) is retried after a pause rather than in a busy loop.
      if (errno != EINTR) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (fds[0].revents != 0) break;
    if (fd >= 0 && fds[1].revents != 0) return Ready::kReadable;
  }
  return Ready::kStopping;
}

void ArticleChangeListener::Run() {
  if (wake_fd_ < 0) {
    log::Error("article change listener: no eventfd; stopping may take up to 100 ms",
               {{"errno", wake_fd_errno_}});
  }
  absl::Duration delay = options_.reconnect_delay;
  std::string last_logged;
  absl::Time logged_at = absl::InfinitePast();
  while (!stopping_.load()) {
    absl::Time trusted_since = absl::InfiniteFuture();
    const absl::Status ended = Connect(trusted_since);
    if (stopping_.load()) return;
    if (trusted_since != absl::InfiniteFuture()) {
      // It was trusted, and on_lost has said why it is no longer. A path that held for a while
      // is reopened soon; one that keeps failing right after it is trusted, after the growing
      // delay, so that it does not cycle (and log) ten times a second.
      if (absl::Now() - trusted_since >= options_.stable_after) delay = options_.reconnect_delay;
      last_logged.clear();
    } else if (ended.message() != last_logged || absl::Now() - logged_at > absl::Minutes(1)) {
      // An attempt that never got to be trusted: said when the reason changes, and once a minute
      // while it lasts, so a replica stuck without its cache is visible in the log.
      log::Warning("article change listener cannot listen; the article cache stays suspended",
                   {{"error", ended.message()}, {"retry_in", absl::FormatDuration(delay)}});
      last_logged = std::string(ended.message());
      logged_at = absl::Now();
    }
    WaitFor(-1, absl::Now() + delay);
    delay = std::min(delay * 2, options_.max_reconnect_delay);
  }
}

absl::Status ArticleChangeListener::Connect(absl::Time& trusted_since) {
  absl::StatusOr<pg_conn*> listen = OpenPostgresConnection(database_, "content-service-changes");
  if (!listen.ok()) return listen.status();
  if (stopping_.load()) {
    PQfinish(*listen);
    return absl::OkStatus();
  }
  absl::StatusOr<pg_conn*> ping = OpenPostgresConnection(database_, "content-service-pings");
  absl::Status ended = ping.status();
  if (ping.ok()) {
    ended = Follow(*listen, *ping, trusted_since);
    PQfinish(*ping);
  }
  PQfinish(*listen);
  return ended;
}

absl::Status ArticleChangeListener::Follow(pg_conn* listen, pg_conn* ping,
                                           absl::Time& trusted_since) {
  // Sent and awaited like a ping, so a server that stops answering cannot hold this thread (and
  // the destructor) for TCP's minutes. The channel is ours, not input.
  if (absl::Status listening =
          Query(listen, absl::StrCat("LISTEN ", kArticleChangesChannel).c_str(), {},
                PGRES_COMMAND_OK, absl::Now() + options_.ping_timeout, /*relay=*/true);
      !listening.ok()) {
    return absl::UnavailableError(absl::StrCat("LISTEN: ", listening.message()));
  }
  listen_backend_pid_ = PQbackendPID(listen);
  // Announcements reach us only if pings do: check once before trusting the path.
  if (absl::Status echoed = Ping(listen, ping); !echoed.ok()) return echoed;
  trusted_since = absl::Now();
  callbacks_.on_listening();
  absl::Status lost;
  while (lost.ok()) {
    switch (WaitFor(PQsocket(listen), absl::Now() + options_.ping_interval)) {
      case Ready::kStopping:
        return absl::OkStatus();
      case Ready::kReadable:
        lost = Consume(listen, /*relay=*/true);
        break;
      case Ready::kTimedOut:
        lost = Ping(listen, ping);
        break;
    }
  }
  if (stopping_.load()) return absl::OkStatus();
  callbacks_.on_lost(lost);
  return lost;
}

absl::Status ArticleChangeListener::Consume(pg_conn* conn, bool relay) {
  if (PQconsumeInput(conn) == 0 || PQstatus(conn) == CONNECTION_BAD) {
    return absl::UnavailableError(absl::StrCat("connection lost: ", ConnectionError(conn)));
  }
  while (PGnotify* notify = PQnotifies(conn)) {
    const std::string payload = notify->extra != nullptr ? notify->extra : "";
    const int sender = notify->be_pid;
    PQfreemem(notify);
    if (!relay) continue;
    if (absl::StartsWith(payload, kPingMark)) {
      // Ours, or another replica's (ignored). Ours is sent from the other connection, so when
      // connected directly it always comes from another backend; the pid check only makes sure
      // of that (through a pooler PQbackendPID is the pooler's own number, and checks nothing).
      if (payload == awaited_echo_ && sender != listen_backend_pid_) echo_seen_ = true;
      continue;
    }
    callbacks_.on_changed(payload);
  }
  return absl::OkStatus();
}

absl::Status ArticleChangeListener::Ping(pg_conn* listen, pg_conn* ping) {
  const absl::Time deadline = absl::Now() + options_.ping_timeout;
  awaited_echo_ = absl::StrCat(ping_prefix_, ++pings_sent_);
  echo_seen_ = false;
  if (absl::Status sent =
          Query(ping, "SELECT pg_notify($1, $2)", {options_.ping_channel, awaited_echo_},
                PGRES_TUPLES_OK, deadline, /*relay=*/false);
      !sent.ok()) {
    return absl::UnavailableError(absl::StrCat("ping: ", sent.message()));
  }
  // The ping is delivered at its commit, which came before the answer above.
  while (!echo_seen_) {
    switch (WaitFor(PQsocket(listen), deadline)) {
      case Ready::kStopping:
        return absl::CancelledError("stopping");
      case Ready::kTimedOut:
        return absl::DeadlineExceededError(absl::StrCat(
            "a ping did not arrive within ", absl::FormatDuration(options_.ping_timeout),
            " (is a transaction-mode pooler between us and PostgreSQL?)"));
      case Ready::kReadable:
        if (absl::Status consumed = Consume(listen, /*relay=*/true); !consumed.ok()) {
          return consumed;
        }
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status ArticleChangeListener::Query(pg_conn* conn, const char* sql,
                                          const std::vector<std::string>& params, int expected,
                                          absl::Time deadline, bool relay) {
  std::vector<const char*> values;
  for (const std::string& param : params) values.push_back(param.c_str());
  if (PQsendQueryParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                        nullptr, 0) == 0) {
    return absl::UnavailableError(absl::StrCat("not sent: ", ConnectionError(conn)));
  }
  bool answered = false;
  // PQgetResult blocks unless PQisBusy says it will not, so each result is waited for here, with
  // the deadline, until the null one that ends the query.
  while (true) {
    while (PQisBusy(conn) != 0) {
      switch (WaitFor(PQsocket(conn), deadline)) {
        case Ready::kStopping:
          return absl::CancelledError("stopping");
        case Ready::kTimedOut:
          return absl::DeadlineExceededError(
              absl::StrCat("no answer within ", absl::FormatDuration(options_.ping_timeout)));
        case Ready::kReadable:
          if (absl::Status consumed = Consume(conn, relay); !consumed.ok()) return consumed;
          break;
      }
    }
    PGresult* result = PQgetResult(conn);
    if (result == nullptr) break;
    answered = answered || PQresultStatus(result) == expected;
    PQclear(result);
  }
  if (!answered) return absl::UnavailableError(absl::StrCat("failed: ", ConnectionError(conn)));
  // Announcements that arrived with the answer.
  return Consume(conn, relay);
}

}  // namespace newsroom::content
