#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>

namespace newsroom {

// Bounds the bytes that calls in flight hold at once, such as responses not yet sent. CallLimiter
// bounds how many calls there are, but not how large: 10 000 listings of 100 large articles, or
// clients that stop reading their answers, would take a process far past its memory limit. A call
// whose bytes do not fit is refused (RESOURCE_EXHAUSTED) before it does anything that cannot be
// undone. One call larger than the whole budget is admitted when nothing else holds any, so that
// every answer the API allows can still be served, one at a time. Thread-safe; one atomic
// compare-and-swap a call.
class MemoryBudget final {
  struct Counter {
    std::atomic<std::int64_t> in_use{0};
  };

 public:
  // Bytes held by one admitted call; returned when the grant is destroyed or Release()d. An empty
  // grant (default-constructed, or moved from) holds none. A grant shares the budget's counter, so
  // it may outlive the budget: gRPC can drop a response's bytes after the server has shut down.
  class Grant final {
   public:
    Grant() = default;
    Grant(Grant&& other) noexcept
        : counter_(std::move(other.counter_)), bytes_(std::exchange(other.bytes_, 0)) {}
    Grant& operator=(Grant&& other) noexcept {
      if (this != &other) {
        Release();
        counter_ = std::move(other.counter_);
        bytes_ = std::exchange(other.bytes_, 0);
      }
      return *this;
    }
    Grant(const Grant&) = delete;
    Grant& operator=(const Grant&) = delete;
    ~Grant() { Release(); }

    void Release() {
      if (counter_ != nullptr) std::exchange(counter_, nullptr)->in_use.fetch_sub(bytes_);
      bytes_ = 0;
    }
    [[nodiscard]] std::int64_t bytes() const { return bytes_; }

   private:
    friend class MemoryBudget;
    Grant(std::shared_ptr<Counter> counter, std::int64_t bytes)
        : counter_(std::move(counter)), bytes_(bytes) {}
    std::shared_ptr<Counter> counter_;
    std::int64_t bytes_ = 0;
  };

  // `max_bytes` <= 0 admits everything (and still counts it).
  explicit MemoryBudget(std::int64_t max_bytes) : max_bytes_(max_bytes) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // A grant of `bytes`, or nullopt when they would take the bytes held past `max_bytes` while
  // other grants hold some. A refusal never shows in the count, even for a moment, so that it
  // cannot cause another.
  std::optional<Grant> TryAcquire(std::int64_t bytes) {
    std::int64_t in_use = counter_->in_use.load();
    do {
      if (max_bytes_ > 0 && in_use != 0 && in_use + bytes > max_bytes_) return std::nullopt;
    } while (!counter_->in_use.compare_exchange_weak(in_use, in_use + bytes));
    return Grant(counter_, bytes);
  }

  [[nodiscard]] std::int64_t in_use() const { return counter_->in_use.load(); }
  [[nodiscard]] std::int64_t max_bytes() const { return max_bytes_; }

 private:
  const std::int64_t max_bytes_;
  const std::shared_ptr<Counter> counter_ = std::make_shared<Counter>();
};

}  // namespace newsroom
