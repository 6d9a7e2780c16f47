#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <utility>

namespace newsroom {

// Bounds the bytes that calls in flight hold at once, such as responses not yet sent. CallLimiter
// bounds how many calls there are, but not how large: 10 000 listings of 100 large articles, or
// clients that stop reading their answers, would take a process far past its memory limit. A call
// whose bytes do not fit is refused (RESOURCE_EXHAUSTED) before it does anything that cannot be
// undone. One call larger than the whole budget is admitted when nothing else holds any, so that
// every answer the API allows can still be served, one at a time. Thread-safe; one atomic add a
// call.
class MemoryBudget final {
 public:
  // Bytes held by one admitted call; returned when the grant is destroyed or Release()d. An empty
  // grant (default-constructed, or moved from) holds none.
  class Grant final {
   public:
    Grant() = default;
    Grant(Grant&& other) noexcept
        : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
    Grant& operator=(Grant&& other) noexcept {
      if (this != &other) {
        Release();
        budget_ = std::exchange(other.budget_, nullptr);
        bytes_ = std::exchange(other.bytes_, 0);
      }
      return *this;
    }
    Grant(const Grant&) = delete;
    Grant& operator=(const Grant&) = delete;
    ~Grant() { Release(); }

    void Release() {
      if (budget_ != nullptr) std::exchange(budget_, nullptr)->in_use_.fetch_sub(bytes_);
      bytes_ = 0;
    }
    [[nodiscard]] std::int64_t bytes() const { return bytes_; }

   private:
    friend class MemoryBudget;
    Grant(MemoryBudget* budget, std::int64_t bytes) : budget_(budget), bytes_(bytes) {}
    MemoryBudget* budget_ = nullptr;
    std::int64_t bytes_ = 0;
  };

  // `max_bytes` <= 0 admits everything (and still counts it).
  explicit MemoryBudget(std::int64_t max_bytes) : max_bytes_(max_bytes) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // A grant of `bytes`, or nullopt when they would take the bytes held past `max_bytes` while
  // other grants hold some.
  std::optional<Grant> TryAcquire(std::int64_t bytes) {
    const std::int64_t before = in_use_.fetch_add(bytes);
    if (max_bytes_ > 0 && before != 0 && before + bytes > max_bytes_) {
      in_use_.fetch_sub(bytes);
      return std::nullopt;
    }
    return Grant(this, bytes);
  }

  [[nodiscard]] std::int64_t in_use() const { return in_use_.load(); }
  [[nodiscard]] std::int64_t max_bytes() const { return max_bytes_; }

 private:
  const std::int64_t max_bytes_;
  std::atomic<std::int64_t> in_use_{0};
};

}  // namespace newsroom
