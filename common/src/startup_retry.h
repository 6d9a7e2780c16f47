#pragma once

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace newsroom {

// How long a service keeps trying a store that does not answer at start: a fresh install whose
// volumes are still being provisioned, or a store restarting with the service. Exiting at once
// would leave Kubernetes to restart the pod with a back-off that grows to five minutes, which is
// then how long the service stays down after the store is back.
struct StartupRetry {
  // Zero: one attempt.
  absl::Duration wait = absl::Seconds(30);
  // The pause after the first failed attempt; each next pause doubles, up to `max_pause`.
  absl::Duration first_pause = absl::Milliseconds(250);
  absl::Duration max_pause = absl::Seconds(4);
};

// Tags `status` (its code and message unchanged) as the answer of a store that was reached and
// refused the service: a wrong password or user, an ACL without a command, a missing database.
// Callers still see its code (UNAVAILABLE while the service runs: the fix is the operator's, and
// the service recovers without a restart once it is made), but RetryWhileUnavailable does not wait
// for it at start: waiting would only delay the error line the operator needs.
[[nodiscard]] absl::Status RefusedByStore(absl::Status status);
[[nodiscard]] bool IsRefusedByStore(const absl::Status& status);

// Calls `attempt` until it returns anything but an UNAVAILABLE that IsRefusedByStore does not
// tag, or until `retry.wait` has passed since the first call, pausing in between through `pause`
// (never past the end of the wait). The wait is checked between attempts, so the whole can last
// `retry.wait` plus one attempt. `pause` returns false when the process was told to stop
// meanwhile: then CANCELLED. Before it returns a failed attempt's status, it looks once more
// (`pause` of zero) for a stop signal that came during that attempt. Otherwise returns the last
// attempt's status. Logs each failed attempt that will be retried as a warning ("not answering at
// start; retrying", with `what` as its "store").
// `now` is the clock (tests pass their own).
[[nodiscard]] absl::Status RetryWhileUnavailable(absl::string_view what, const StartupRetry& retry,
                                                 absl::FunctionRef<absl::Status()> attempt,
                                                 absl::FunctionRef<bool(absl::Duration)> pause,
                                                 absl::FunctionRef<absl::Time()> now);

// The same on the real clock, pausing in WaitForShutdownSignalFor (common/src/grpc_server.h), so
// that SIGTERM or SIGINT ends the wait at once.
[[nodiscard]] absl::Status RetryWhileUnavailable(absl::string_view what, const StartupRetry& retry,
                                                 absl::FunctionRef<absl::Status()> attempt);

}  // namespace newsroom
