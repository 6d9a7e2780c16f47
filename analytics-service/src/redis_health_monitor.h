#pragma once

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "analytics-service/src/redis_connection.h"

namespace newsroom::analytics {

// What Redis says of its memory (INFO memory).
struct RedisMemory {
  std::int64_t used_bytes = 0;  // used_memory: what counts against maxmemory
  std::int64_t max_bytes = 0;   // maxmemory; 0: no limit
};

// Reads used_memory and maxmemory from the text of an INFO reply; INTERNAL when either is missing
// or not a number.
[[nodiscard]] absl::StatusOr<RedisMemory> ParseRedisMemory(absl::string_view info);

struct RedisHealthMonitorOptions {
  RedisConnectionOptions connection;
  absl::Duration interval = absl::Milliseconds(500);
  // Sent after each PING that succeeds following one that failed (e.g. to restore a key a Redis
  // without persistence lost). Replies are not checked.
  std::vector<RedisCommand> on_recovery;
  // When set, called with Redis's memory use (INFO memory) after a successful PING, at most once
  // per `memory_interval`. Every read leaves a dedup marker for --dedup-window, so this is what
  // tells an operator that Redis will reach maxmemory (and, with noeviction, refuse new reads)
  // before it does. An INFO that fails is logged (once per reason) and asked again next time.
  std::function<void(RedisMemory)> on_memory;
  absl::Duration memory_interval = absl::Seconds(10);
};

// PINGs Redis on its own connection every `interval` and calls `on_change(healthy)` from its thread
// whenever the answer changes (Redis is assumed healthy at start). Drives the gRPC health status,
// and reports Redis's memory use to `on_memory` from the same thread.
class RedisHealthMonitor final {
 public:
  RedisHealthMonitor(RedisHealthMonitorOptions options, std::function<void(bool)> on_change);
  // Stops the monitor; neither callback is called after it returns.
  ~RedisHealthMonitor();
  RedisHealthMonitor(const RedisHealthMonitor&) = delete;
  RedisHealthMonitor& operator=(const RedisHealthMonitor&) = delete;

 private:
  void Loop();
  // Asks Redis for its memory use and passes it to on_memory; logs a failure once per reason.
  void ReportMemory(RedisConnection& connection, std::string& logged_reason);

  const RedisHealthMonitorOptions options_;
  const std::function<void(bool)> on_change_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace newsroom::analytics
