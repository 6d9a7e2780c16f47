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
// every answer the API allows can still be served, one at a time. Bytes that many calls share (one
// article's bytes in every response that carries it) are counted once, while any call holds them
// (SharedBytes). Thread-safe and lock-free: a call costs one compare-and-swap on the budget, or on
// the shared bytes' holder count when they are held already.
class MemoryBudget final {
  struct Counter {
    std::atomic<std::int64_t> in_use{0};
  };

 public:
  // Bytes that many calls may hold at once, such as an article's bytes that every response
  // carrying it refers to: counted in the budget once, from when the first call holds them until
  // the last lets go (TryHold). All holds of one SharedBytes must come from one budget.
  class SharedBytes final {
   public:
    explicit SharedBytes(std::int64_t bytes) : bytes_(bytes) {}
    SharedBytes(const SharedBytes&) = delete;
    SharedBytes& operator=(const SharedBytes&) = delete;

    [[nodiscard]] std::int64_t bytes() const { return bytes_; }
    [[nodiscard]] std::int64_t holders() const { return holders_.load(); }

   private:
    friend class MemoryBudget;
    const std::int64_t bytes_;
    std::atomic<std::int64_t> holders_{0};
  };

  // One call's hold on SharedBytes; the last hold to go returns their bytes to the budget. Empty
  // when default-constructed or moved from. Like a Grant, it may outlive its budget.
  class SharedHold final {
   public:
    SharedHold() = default;
    SharedHold(SharedHold&& other) noexcept
        : shared_(std::move(other.shared_)), counter_(std::move(other.counter_)) {}
    SharedHold& operator=(SharedHold&& other) noexcept {
      if (this != &other) {
        Release();
        shared_ = std::move(other.shared_);
        counter_ = std::move(other.counter_);
      }
      return *this;
    }
    SharedHold(const SharedHold&) = delete;
    SharedHold& operator=(const SharedHold&) = delete;
    ~SharedHold() { Release(); }

    void Release() {
      if (shared_ == nullptr) return;
      if (shared_->holders_.fetch_sub(1) == 1) counter_->in_use.fetch_sub(shared_->bytes_);
      shared_ = nullptr;
      counter_ = nullptr;
    }

   private:
    friend class MemoryBudget;
    SharedHold(std::shared_ptr<SharedBytes> shared, std::shared_ptr<Counter> counter)
        : shared_(std::move(shared)), counter_(std::move(counter)) {}
    std::shared_ptr<SharedBytes> shared_;
    std::shared_ptr<Counter> counter_;
  };

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
    Grant grant;  // holds nothing, so TryGrow applies the rule above
    if (!TryGrow(grant, bytes)) return std::nullopt;
    return grant;
  }

  // Adds `bytes` to `grant` (empty, or of this budget), for a response built in rounds, or returns
  // false when they do not fit. The grant's own bytes count as nothing else's: a response larger
  // than the budget grows while no other call holds any.
  bool TryGrow(Grant& grant, std::int64_t bytes) {
    std::int64_t in_use = counter_->in_use.load();
    do {
      if (max_bytes_ > 0 && in_use != grant.bytes_ && in_use + bytes > max_bytes_) return false;
    } while (!counter_->in_use.compare_exchange_weak(in_use, in_use + bytes));
    if (grant.counter_ == nullptr) grant.counter_ = counter_;
    grant.bytes_ += bytes;
    return true;
  }

  // A hold on `shared`, which counts its bytes only when no other call holds them (as TryAcquire
  // would, oversized included), or nullopt when they do not fit. When the last hold goes while
  // another call takes the first new one, the bytes may be counted twice for a moment; never less
  // than once while held.
  std::optional<SharedHold> TryHold(std::shared_ptr<SharedBytes> shared) {
    std::int64_t holders = shared->holders_.load();
    while (true) {
      if (holders > 0) {
        if (shared->holders_.compare_exchange_weak(holders, holders + 1)) {
          return SharedHold(std::move(shared), counter_);
        }
        continue;
      }
      std::optional<Grant> grant = TryAcquire(shared->bytes_);
      if (!grant) return std::nullopt;
      if (shared->holders_.compare_exchange_strong(holders, 1)) {
        // The bytes stay counted: the last hold to go returns them.
        grant->counter_ = nullptr;
        grant->bytes_ = 0;
        return SharedHold(std::move(shared), counter_);
      }
      // Another call became the first holder meanwhile; ours go back as the grant goes.
    }
  }

  [[nodiscard]] std::int64_t in_use() const { return counter_->in_use.load(); }
  [[nodiscard]] std::int64_t max_bytes() const { return max_bytes_; }

 private:
  const std::int64_t max_bytes_;
  const std::shared_ptr<Counter> counter_ = std::make_shared<Counter>();
};

}  // namespace newsroom
