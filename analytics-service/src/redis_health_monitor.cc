#include "analytics-service/src/redis_health_monitor.h"

#include <cstdio>

namespace newsroom::analytics {
namespace {

bool Ping(RedisConnection& connection) {
  absl::StatusOr<RedisReply> reply = connection.Run({"PING"});
  if (!reply.ok()) return false;
  if ((*reply)->type != REDIS_REPLY_STATUS) {
    connection.Disconnect();  // e.g. LOADING or NOAUTH: start over on a fresh connection
    return false;
  }
  return true;
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
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval)) return;
    }
    const bool now_healthy = Ping(connection);
    if (now_healthy == healthy) continue;
    healthy = now_healthy;
    if (healthy && !options_.on_recovery.empty()) {
      (void)connection.Pipeline(options_.on_recovery);
    }
    std::fprintf(stderr, "analytics-service: Redis at %s %s; health is now %s\n",
                 connection.address().c_str(), healthy ? "is reachable again" : "is unreachable",
                 healthy ? "SERVING" : "NOT_SERVING");
    on_change_(healthy);
  }
}

}  // namespace newsroom::analytics
