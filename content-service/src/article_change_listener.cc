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
               {{"errno", errno}});
  }
  absl::Duration delay = options_.reconnect_delay;
  std::string last_logged;
  absl::Time logged_at = absl::InfinitePast();
  while (!stopping_.load()) {
    absl::StatusOr<pg_conn*> conn = OpenPostgresConnection(database_, "content-service-changes");
    absl::Status ended = conn.status();
    if (conn.ok()) {
      ended = Follow(*conn);
      PQfinish(*conn);
    }
    if (stopping_.load()) return;
    if (ended.ok()) {
      // Follow listened before it failed (and on_lost said so): start the next attempt soon.
      delay = options_.reconnect_delay;
      last_logged.clear();
    } else if (ended.message() != last_logged || absl::Now() - logged_at > absl::Minutes(1)) {
      // An attempt that never got to listen: said when the reason changes, and once a minute
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

absl::Status ArticleChangeListener::Follow(pg_conn* conn) {
  // Sent and awaited like a ping, so a server that stops answering cannot hold this thread (and
  // the destructor) for TCP's minutes. The channel is ours, not input.
  if (absl::Status listen = Query(conn, absl::StrCat("LISTEN ", kArticleChangesChannel).c_str(), {},
                                  PGRES_COMMAND_OK, absl::Now() + options_.ping_timeout);
      !listen.ok()) {
    return absl::UnavailableError(absl::StrCat("LISTEN: ", listen.message()));
  }
  // Announcements reach us only if pings do: check once before trusting the path.
  if (absl::Status echoed = Ping(conn); !echoed.ok()) return echoed;
  callbacks_.on_listening();
  absl::Status lost;
  while (lost.ok()) {
    switch (WaitFor(PQsocket(conn), absl::Now() + options_.ping_interval)) {
      case Ready::kStopping:
        return absl::OkStatus();
      case Ready::kReadable:
        lost = Consume(conn);
        break;
      case Ready::kTimedOut:
        lost = Ping(conn);
        break;
    }
  }
  if (stopping_.load()) return absl::OkStatus();
  callbacks_.on_lost(lost);
  // It did listen: OK tells Run to reconnect without backing off.
  return absl::OkStatus();
}

absl::Status ArticleChangeListener::Consume(pg_conn* conn) {
  if (PQconsumeInput(conn) == 0 || PQstatus(conn) == CONNECTION_BAD) {
    return absl::UnavailableError(absl::StrCat("connection lost: ", ConnectionError(conn)));
  }
  while (PGnotify* notify = PQnotifies(conn)) {
    const std::string payload = notify->extra != nullptr ? notify->extra : "";
    PQfreemem(notify);
    if (absl::StartsWith(payload, kPingMark)) {
      // Ours, or another replica's (ignored).
      if (payload == awaited_echo_) echo_seen_ = true;
      continue;
    }
    callbacks_.on_changed(payload);
  }
  return absl::OkStatus();
}

absl::Status ArticleChangeListener::Ping(pg_conn* conn) {
  const absl::Time deadline = absl::Now() + options_.ping_timeout;
  awaited_echo_ = absl::StrCat(ping_prefix_, ++pings_sent_);
  echo_seen_ = false;
  if (absl::Status sent = Query(conn, "SELECT pg_notify($1, $2)",
                                {options_.ping_channel, awaited_echo_}, PGRES_TUPLES_OK, deadline);
      !sent.ok()) {
    return absl::UnavailableError(absl::StrCat("ping: ", sent.message()));
  }
  // PostgreSQL sends the notification after the statement's result, at its commit.
  while (!echo_seen_) {
    switch (WaitFor(PQsocket(conn), deadline)) {
      case Ready::kStopping:
        return absl::CancelledError("stopping");
      case Ready::kTimedOut:
        return absl::DeadlineExceededError(absl::StrCat(
            "a ping did not come back within ", absl::FormatDuration(options_.ping_timeout),
            " (is a transaction-mode pooler between us and PostgreSQL?)"));
      case Ready::kReadable:
        if (absl::Status consumed = Consume(conn); !consumed.ok()) return consumed;
        break;
    }
  }
  return absl::OkStatus();
}

absl::Status ArticleChangeListener::Query(pg_conn* conn, const char* sql,
                                          const std::vector<std::string>& params, int expected,
                                          absl::Time deadline) {
  std::vector<const char*> values;
  for (const std::string& param : params) values.push_back(param.c_str());
  if (PQsendQueryParams(conn, sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                        nullptr, 0) == 0) {
    return absl::UnavailableError(absl::StrCat("not sent: ", ConnectionError(conn)));
  }
  while (PQisBusy(conn) != 0) {
    switch (WaitFor(PQsocket(conn), deadline)) {
      case Ready::kStopping:
        return absl::CancelledError("stopping");
      case Ready::kTimedOut:
        return absl::DeadlineExceededError(
            absl::StrCat("no answer within ", absl::FormatDuration(options_.ping_timeout)));
      case Ready::kReadable:
        if (absl::Status consumed = Consume(conn); !consumed.ok()) return consumed;
        break;
    }
  }
  bool answered = false;
  while (PGresult* result = PQgetResult(conn)) {
    answered = answered || PQresultStatus(result) == expected;
    PQclear(result);
  }
  if (!answered) return absl::UnavailableError(absl::StrCat("failed: ", ConnectionError(conn)));
  // Announcements that arrived with the answer.
  return Consume(conn);
}

}  // namespace newsroom::content
