#include "content-service/src/article_change_listener.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "content-service/src/postgres_article_store.h"

namespace newsroom::content {
namespace {

// libpq's message for the last failure on `conn`, without its trailing newline.
std::string ConnectionError(pg_conn* conn) {
  std::string message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

}  // namespace

ArticleChangeListener::ArticleChangeListener(PostgresOptions database,
                                             ArticleChangeCallbacks callbacks,
                                             ArticleChangeListenerOptions options)
    : database_(std::move(database)),
      callbacks_(std::move(callbacks)),
      options_(options),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      thread_([this] { Run(); }) {}

ArticleChangeListener::~ArticleChangeListener() {
  stopping_.store(true);
  const std::uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {
    // Only a full counter fails, and then the thread is awake anyway.
  }
  thread_.join();
  close(wake_fd_);
}

ArticleChangeListener::Ready ArticleChangeListener::WaitFor(int fd, absl::Time deadline) {
  while (!stopping_.load()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return Ready::kTimedOut;
    pollfd fds[2] = {{.fd = wake_fd_, .events = POLLIN, .revents = 0},
                     {.fd = fd, .events = POLLIN, .revents = 0}};
    const int timeout_ms =
        static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60'000));
    const int ready = poll(fds, fd < 0 ? 1 : 2, timeout_ms);
    if (ready < 0) continue;  // EINTR
    if (fds[0].revents != 0) break;
    if (fd >= 0 && fds[1].revents != 0) return Ready::kReadable;
  }
  return Ready::kStopping;
}

void ArticleChangeListener::Run() {
  absl::Duration delay = options_.reconnect_delay;
  while (!stopping_.load()) {
    absl::StatusOr<pg_conn*> conn = OpenPostgresConnection(database_, "content-service-changes");
    absl::Status ended = conn.status();
    if (conn.ok()) {
      ended = Follow(*conn);
      PQfinish(*conn);
    }
    if (stopping_.load()) return;
    if (ended.ok()) {
      // Follow listened before it failed: start the next attempt soon.
      delay = options_.reconnect_delay;
    }
    WaitFor(-1, absl::Now() + delay);
    delay = std::min(delay * 2, options_.max_reconnect_delay);
  }
}

absl::Status ArticleChangeListener::Follow(pg_conn* conn) {
  // Constant SQL: the channel is ours, not input.
  PGresult* listen = PQexec(conn, absl::StrCat("LISTEN ", kArticleChangesChannel).c_str());
  const bool listening = PQresultStatus(listen) == PGRES_COMMAND_OK;
  PQclear(listen);
  if (!listening) {
    return absl::UnavailableError(absl::StrCat("LISTEN failed: ", ConnectionError(conn)));
  }
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
    const std::string article_id = notify->extra != nullptr ? notify->extra : "";
    PQfreemem(notify);
    callbacks_.on_changed(article_id);
  }
  return absl::OkStatus();
}

absl::Status ArticleChangeListener::Ping(pg_conn* conn) {
  if (PQsendQuery(conn, "SELECT 1") == 0) {
    return absl::UnavailableError(absl::StrCat("ping not sent: ", ConnectionError(conn)));
  }
  const absl::Time deadline = absl::Now() + options_.ping_timeout;
  while (PQisBusy(conn) != 0) {
    switch (WaitFor(PQsocket(conn), deadline)) {
      case Ready::kStopping:
        return absl::CancelledError("stopping");
      case Ready::kTimedOut:
        return absl::DeadlineExceededError(absl::StrCat(
            "no answer to a ping within ", absl::FormatDuration(options_.ping_timeout)));
      case Ready::kReadable:
        if (absl::Status consumed = Consume(conn); !consumed.ok()) return consumed;
        break;
    }
  }
  bool answered = false;
  while (PGresult* result = PQgetResult(conn)) {
    answered = answered || PQresultStatus(result) == PGRES_TUPLES_OK;
    PQclear(result);
  }
  if (!answered)
    return absl::UnavailableError(absl::StrCat("ping failed: ", ConnectionError(conn)));
  // Announcements that arrived with the answer.
  return Consume(conn);
}

}  // namespace newsroom::content
