#pragma once

#include <atomic>
#include <optional>
#include <utility>

namespace newsroom {

// Bounds the calls a service works on at once. A call over the bound is refused at once
// (RESOURCE_EXHAUSTED) rather than queued: under a flood, a fast refusal that a client can back off
// from is worth more than a slow answer, and memory stays bounded by the calls admitted.
// One atomic add and subtract per call; thread-safe.
class CallLimiter final {
 public:
  // A slot held by one admitted call; released when the permit is destroyed or Release()d.
  class Permit final {
   public:
    Permit(Permit&& other) noexcept : limiter_(std::exchange(other.limiter_, nullptr)) {}
    Permit& operator=(Permit&& other) noexcept {
      if (this != &other) {
        Release();
        limiter_ = std::exchange(other.limiter_, nullptr);
      }
      return *this;
    }
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() { Release(); }

    void Release() {
      if (limiter_ != nullptr) std::exchange(limiter_, nullptr)->in_flight_.fetch_sub(1);
    }

   private:
    friend class CallLimiter;
    explicit Permit(CallLimiter* limiter) : limiter_(limiter) {}
    CallLimiter* limiter_;
  };

  // `max_in_flight` <= 0 admits every call.
  explicit CallLimiter(int max_in_flight) : max_in_flight_(max_in_flight) {}
  CallLimiter(const CallLimiter&) = delete;
  CallLimiter& operator=(const CallLimiter&) = delete;

  // A permit, or nullopt when `max_in_flight` calls already hold one.
  std::optional<Permit> TryAcquire() {
    const int before = in_flight_.fetch_add(1);
    if (max_in_flight_ > 0 && before >= max_in_flight_) {
      in_flight_.fetch_sub(1);
      return std::nullopt;
    }
    return Permit(this);
  }

  int in_flight() const { return in_flight_.load(); }
  int max_in_flight() const { return max_in_flight_; }

 private:
  const int max_in_flight_;
  std::atomic<int> in_flight_{0};
};

}  // namespace newsroom
