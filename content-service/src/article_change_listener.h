#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "content-service/src/postgres_article_store.h"
#include "content-service/src/postgres_pool.h"

namespace newsroom::content {

// What ArticleChangeListener tells its owner; each runs on the listener's thread.
struct ArticleChangeCallbacks {
  // LISTEN is in effect: every change committed from now on will be announced.
  absl::AnyInvocable<void()> on_listening;
  // An article was created, changed or deleted (empty id: possibly every article).
  absl::AnyInvocable<void(absl::string_view article_id)> on_changed;
  // Changes may go unannounced from now until the next on_listening: the connection was lost, or
  // did not answer a ping in time.
  absl::AnyInvocable<void(const absl::Status& why)> on_lost;
};

struct ArticleChangeListenerOptions {
  // A listening connection that has heard nothing for this long is pinged. A ping is a
  // notification on the channel listened to, sent from a second connection of the listener's own,
  // as another replica's announcement would be: it must arrive on the listening connection within
  // `ping_timeout`, or the listener gives up on it (on_lost). So what is checked is the whole path
  // an announcement takes, not only that the server answers: a silently broken connection (a
  // network partition, no RST), or a pooler that does not relay notifications between sessions,
  // is found within about ping_interval + ping_timeout.
  absl::Duration ping_interval = absl::Seconds(1);
  absl::Duration ping_timeout = absl::Seconds(2);
  // First wait before reconnecting; doubles on each failure up to `max_reconnect_delay`.
  absl::Duration reconnect_delay = absl::Milliseconds(100);
  absl::Duration max_reconnect_delay = absl::Seconds(5);
  // Where pings are sent: the channel listened to. A test sends them elsewhere to stand for a
  // path that loses announcements.
  std::string ping_channel = kArticleChangesChannel;
  // A connection lost after listening at least this long is reopened after reconnect_delay; one
  // lost sooner, after the growing delay, so a connection that keeps failing does not cycle fast.
  absl::Duration stable_after = absl::Seconds(10);
};

// Follows kArticleChangesChannel on a PostgreSQL connection of its own (application_name
// "content-service-changes", and a second one, "content-service-pings", that sends its pings), on
// a thread of its own, reconnecting whenever it is lost, so that a replica's article cache learns
// of the other replicas' writes. Logs (a warning) why it cannot
// listen while it cannot; a loss after listening is the owner's to log (on_lost).
class ArticleChangeListener final {
 public:
  // Starts the thread, which connects at once. Nothing is announced before the first
  // on_listening.
  ArticleChangeListener(PostgresOptions database, ArticleChangeCallbacks callbacks,
                        ArticleChangeListenerOptions options = {});
  // Stops and joins the thread: at once, or after the connection attempt in progress (libpq's
  // connect_timeout, 5 s, once the host name is resolved). Calls no callback after it returns.
  ~ArticleChangeListener();
  ArticleChangeListener(const ArticleChangeListener&) = delete;
  ArticleChangeListener& operator=(const ArticleChangeListener&) = delete;

 private:
  enum class Ready { kReadable, kTimedOut, kStopping };

  void Run();
  // Opens both connections and follows; the error that ended it, or OK when stopping. Sets
  // `trusted_since` when it first trusted the path.
  absl::Status Connect(absl::Time& trusted_since);
  // LISTENs on `listen` and relays what arrives until the path fails (the error, after on_lost
  // when it had been trusted) or the listener stops (OK).
  absl::Status Follow(pg_conn* listen, pg_conn* ping, absl::Time& trusted_since);
  // Sends a ping on `ping` and waits for it on `listen`, relaying what arrives there meanwhile:
  // OK once it came, or why not.
  absl::Status Ping(pg_conn* listen, pg_conn* ping);
  // Sends `sql` (our own SQL) with `params` on `conn` and waits until `deadline` for a result of
  // status `expected` (an ExecStatusType). Announcements that arrive on `conn` meanwhile are
  // relayed when `relay`, else dropped.
  absl::Status Query(pg_conn* conn, const char* sql, const std::vector<std::string>& params,
                     int expected, absl::Time deadline, bool relay);
  // Reads what arrived on `conn`. With `relay`, relays its announcements and notes the echo of
  // the last ping; without, drops them.
  absl::Status Consume(pg_conn* conn, bool relay);
  // Waits until `fd` is readable, `deadline` passes or the listener stops.
  Ready WaitFor(int fd, absl::Time deadline);

  const PostgresOptions database_;
  ArticleChangeCallbacks callbacks_;
  const ArticleChangeListenerOptions options_;
  // Written once to wake the thread when stopping.
  const int wake_fd_;
  const int wake_fd_errno_;
  std::atomic<bool> stopping_{false};
  // The listener thread's own: what its pings carry (a prefix no article id has, this listener's
  // random token, a count), so it tells its echo from other replicas' pings.
  const std::string ping_prefix_;
  std::uint64_t pings_sent_ = 0;
  std::string awaited_echo_;
  bool echo_seen_ = false;
  int listen_backend_pid_ = 0;
  std::thread thread_;
};

}  // namespace newsroom::content
