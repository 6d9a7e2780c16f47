#include "analytics-service/src/redis_health_monitor.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
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

absl::StatusOr<RedisMemory> ParseRedisMemory(absl::string_view info) {
  RedisMemory memory;
  bool have_used = false, have_max = false;
  for (absl::string_view line : absl::StrSplit(info, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (absl::ConsumePrefix(&line, "used_memory:")) {
      have_used = absl::SimpleAtoi(line, &memory.used_bytes) && memory.used_bytes >= 0;
    } else if (absl::ConsumePrefix(&line, "maxmemory:")) {
      have_max = absl::SimpleAtoi(line, &memory.max_bytes) && memory.max_bytes >= 0;
    }
  }
  if (!have_used || !have_max) {
    return absl::InternalError("INFO memory has no numeric used_memory and maxmemory");
  }
  return memory;
}

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
  std::string logged_memory_reason;
  absl::Time next_memory_report = absl::InfinitePast();
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
    if (status.ok() != healthy) {
      healthy = status.ok();
      logged_reason = std::string(status.message());
      if (healthy && !options_.on_recovery.empty()) {
        (void)connection.Pipeline(options_.on_recovery);
      }
      // The reason ("Redis at ... unavailable (...)" or "... refused AUTH ...") tells an outage
      // from a rotated password or a changed ACL; it never holds the password.
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
    // After the recovery above, so that a slow INFO never delays SERVING.
    if (healthy && options_.on_memory && absl::Now() >= next_memory_report) {
      next_memory_report = absl::Now() + options_.memory_interval;
      ReportMemory(connection, logged_memory_reason);
    }
  }
}

void RedisHealthMonitor::ReportMemory(RedisConnection& connection, std::string& logged_reason) {
  absl::StatusOr<RedisReply> reply = connection.Run({"INFO", "memory"});
  absl::StatusOr<RedisMemory> memory = absl::InternalError("");
  if (!reply.ok()) {
    memory = reply.status();
  } else if ((*reply)->type == REDIS_REPLY_ERROR) {
    // E.g. NOPERM: an ACL rule from before INFO was added to scripts/redis-acl.
    memory = absl::PermissionDeniedError(std::string((*reply)->str, (*reply)->len));
  } else if ((*reply)->type == REDIS_REPLY_STRING) {
    memory = ParseRedisMemory(absl::string_view((*reply)->str, (*reply)->len));
  } else {
    memory = absl::InternalError("INFO memory answered with a non-string");
  }
  if (memory.ok()) {
    logged_reason.clear();
    options_.on_memory(*memory);
    return;
  }
  if (memory.status().message() == logged_reason) return;
  logged_reason = std::string(memory.status().message());
  // NOPERM after an upgrade: Redis still has the ACL rule from before INFO was added to it.
  log::Warning(absl::StrCat("cannot read Redis's memory use (INFO memory): ", logged_reason,
                            "; newsroom_analytics_redis_used_memory_bytes is not updated. If "
                            "NOPERM, give the ACL user the rule scripts/redis-acl prints"));
}

}  // namespace newsroom::analytics
