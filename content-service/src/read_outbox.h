#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "newsroom/analytics/v1/analytics_service.pb.h"

namespace newsroom::content {

namespace analytics_v1 = ::newsroom::analytics::v1;

// One read waiting in the outbox.
struct OutboxEntry {
  int64_t id = 0;  // increases in the order reads were appended
  analytics_v1::RecordReadRequest read;
  absl::Time queued_at;
};

// Durable storage for reads that analytics-service has not acknowledged: once Append returns OK,
// the reads survive a crash or restart of content-service. Thread-safe.
class ReadOutbox {
 public:
  virtual ~ReadOutbox() = default;

  [[nodiscard]] virtual absl::Status Append(
      const std::vector<analytics_v1::RecordReadRequest>& reads, absl::Time now) = 0;
  // Up to `limit` entries, oldest first.
  [[nodiscard]] virtual absl::StatusOr<std::vector<OutboxEntry>> Oldest(std::size_t limit) = 0;
  [[nodiscard]] virtual absl::Status Remove(const std::vector<int64_t>& ids) = 0;
  // Removes entries queued before `cutoff`; returns how many.
  [[nodiscard]] virtual absl::StatusOr<int64_t> RemoveQueuedBefore(absl::Time cutoff) = 0;
  [[nodiscard]] virtual absl::StatusOr<int64_t> Count() = 0;
};

}  // namespace newsroom::content
