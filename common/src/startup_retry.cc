#include "common/src/startup_retry.h"

#include <algorithm>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/src/grpc_server.h"
#include "common/src/log.h"

namespace newsroom {
namespace {

constexpr absl::string_view kRefusedByStore = "type.googleapis.com/newsroom.RefusedByStore";

absl::Status Stopped(absl::string_view what, const absl::Status& last) {
  return absl::CancelledError(
      absl::StrCat("told to stop while waiting for ", what, ": ", last.message()));
}

}  // namespace

absl::Status RefusedByStore(absl::Status status) {
  if (!status.ok()) status.SetPayload(kRefusedByStore, absl::Cord());
  return status;
}

bool IsRefusedByStore(const absl::Status& status) {
  return status.GetPayload(kRefusedByStore).has_value();
}

absl::Status RetryWhileUnavailable(absl::string_view what, const StartupRetry& retry,
                                   absl::FunctionRef<absl::Status()> attempt,
                                   absl::FunctionRef<bool(absl::Duration)> pause,
                                   absl::FunctionRef<absl::Time()> now) {
  const absl::Time give_up = now() + std::max(retry.wait, absl::ZeroDuration());
  absl::Duration next_pause = retry.first_pause;
  for (int attempts = 1;; ++attempts) {
    absl::Status status = attempt();
    if (status.ok()) return status;
    const absl::Duration left = give_up - now();
    if (status.code() != absl::StatusCode::kUnavailable || IsRefusedByStore(status) ||
        left <= absl::ZeroDuration()) {
      // A signal that came during the attempt: the process is stopping, not failing.
      if (!pause(absl::ZeroDuration())) return Stopped(what, status);
      return status;
    }
    const absl::Duration this_pause = std::min(next_pause, left);
    log::Warning(
        "not answering at start; retrying",
        {{"store", what},
         {"error", status.message()},
         {"attempts", attempts},
         {"retry_in", absl::FormatDuration(absl::Trunc(this_pause, absl::Milliseconds(1)))},
         {"gives_up_in", absl::FormatDuration(absl::Trunc(left, absl::Milliseconds(1)))}});
    if (!pause(this_pause)) return Stopped(what, status);
    next_pause = std::min(next_pause * 2, retry.max_pause);
  }
}

absl::Status RetryWhileUnavailable(absl::string_view what, const StartupRetry& retry,
                                   absl::FunctionRef<absl::Status()> attempt) {
  return RetryWhileUnavailable(
      what, retry, attempt,
      [](absl::Duration pause) { return WaitForShutdownSignalFor(pause) == 0; },
      [] { return absl::Now(); });
}

}  // namespace newsroom
