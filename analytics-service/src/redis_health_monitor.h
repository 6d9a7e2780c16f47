#pragma once

#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "analytics-service/src/redis_connection.h"

namespace newsroom::analytics {

struct RedisHealthMonitorOptions {
  RedisConnectionOptions connection;
  absl::Duration interval = absl::Milliseconds(500);
  // Sent after each PING that succeeds following one that failed (e.g. to restore a key a Redis
  // without persistence lost). Replies are not checked.
  std::vector<RedisCommand> on_recovery;
};

// PINGs Redis on its own connection every `interval` and calls `on_change(healthy)` from its thread
// whenever the answer changes (Redis is assumed healthy at start). Drives the gRPC health status.
class RedisHealthMonitor final {
 public:
  RedisHealthMonitor(RedisHealthMonitorOptions options, std::function<void(bool)> on_change);
  // Stops the monitor; `on_change` is not called after it returns.
  ~RedisHealthMonitor();
  RedisHealthMonitor(const RedisHealthMonitor&) = delete;
  RedisHealthMonitor& operator=(const RedisHealthMonitor&) = delete;

 private:
  void Loop();

  const RedisHealthMonitorOptions options_;
  const std::function<void(bool)> on_change_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace newsroom::analytics
