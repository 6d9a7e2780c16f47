#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace newsroom::content {

// Counts the asynchronous calls whose callbacks will run code of an object, so that its owner can
// wait for them before destroying it. gRPC client callbacks can fire after the server has stopped
// taking calls (a call to analytics-service is answered, or times out, a little later); without
// the wait they would run on a destroyed object. Thread-safe.
class CallbacksInFlight {
 public:
  // One pending callback; released when destroyed (keep it in the callback's captures). Move-only.
  class Hold {
   public:
    Hold(Hold&& other) noexcept : owner_(other.owner_) { other.owner_ = nullptr; }
    Hold& operator=(Hold&&) = delete;
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold() {
      if (owner_ != nullptr) owner_->Release();
    }

   private:
    friend class CallbacksInFlight;
    explicit Hold(CallbacksInFlight* owner) : owner_(owner) {}
    CallbacksInFlight* owner_;
  };

  CallbacksInFlight() = default;
  CallbacksInFlight(const CallbacksInFlight&) = delete;
  CallbacksInFlight& operator=(const CallbacksInFlight&) = delete;

  [[nodiscard]] Hold Acquire() {
    absl::MutexLock lock(&mu_);
    ++count_;
    return Hold(this);
  }

  // Waits until every Hold is released, or `timeout` passes; returns whether none is left.
  bool WaitUntilNone(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    return mu_.AwaitWithTimeout(absl::Condition(this, &CallbacksInFlight::NoneLocked), timeout);
  }

  int count() const {
    absl::MutexLock lock(&mu_);
    return count_;
  }

 private:
  void Release() {
    absl::MutexLock lock(&mu_);
    --count_;
  }
  bool NoneLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return count_ == 0; }

  mutable absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace newsroom::content
