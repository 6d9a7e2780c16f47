#include "analytics-service/src/redis_health_monitor.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/src/log.h"

namespace newsroom::analytics {
namespace {

// Returns why Redis is not usable (unreachable, AUTH refused, an error reply), or OK.
absl::Status Ping(RedisConnection& connection) {
  absl::StatusOr<RedisReply> reply = connection.Run({"PING"});
  if (!reply.ok()) return reply.status();
  if ((*reply)->type != REDIS_REPLY_STATUS) {
    connection.Disconnect();  // e.g. LOADING or NOAUTH: start over on a fresh connection
    const redisReply& r = **reply;
    return absl::UnavailableError(absl::StrCat(
        "Redis at ", connection.address(), " answered PING with ",
        r.type == REDIS_REPLY_ERROR ? std::string(r.str, r.len) : std::string("a non-status")));
  }
  return absl::OkStatus();
}

}  // namespace

RedisHealthMonitor::RedisHealthMonitor(RedisHealthMonitorOptions options,
                                       std::function<void(bool)> on_change)
    : options_(std::move(options)), on_change_(std::move(on_change)) {
  thread_ = std::thread([this] { Loop(); });
}

RedisHealthMonitor::~RedisHealthMonitor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void RedisHealthMonitor::Loop() {
  RedisConnection connection(options_.connection);
  bool healthy = true;
  std::string logged_reason;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval)) return;
    }
    const absl::Status status = Ping(connection);
    if (!status.ok() && !healthy && status.message() != logged_reason) {
      // E.g. a dropped connection first, then AUTH refused on the new one (a rotated password):
      // the later reason is the one to act on. Once per change, so an outage logs one line.
      logged_reason = std::string(status.message());
      log::Error(absl::StrCat(logged_reason, "; health is still NOT_SERVING"));
    }
    if (status.ok() == healthy) continue;
    healthy = status.ok();
    logged_reason = std::string(status.message());
    if (healthy && !options_.on_recovery.empty()) {
      (void)connection.Pipeline(options_.on_recovery);
    }
    // The reason ("Redis at ... unavailable (...)" or "... refused AUTH ...") tells an outage from
    // a rotated password or a changed ACL; it never holds the password.
    const std::string what =
        healthy ? absl::StrCat("Redis at ", connection.address(), " is reachable again")
                : std::string(status.message());
    if (healthy) {
      log::Info(absl::StrCat(what, "; health is now SERVING"));
    } else {
      log::Error(absl::StrCat(what, "; health is now NOT_SERVING"));
    }
    on_change_(healthy);
  }
}

}  // namespace newsroom::analytics
