#pragma once

// A lock-free log-linear latency histogram in the style of HdrHistogram: exact below 128 ns, then
// 64 buckets per power of two, so every recorded value is within 1/64 (1.6%) of its bucket's
// midpoint. Any thread may Record() concurrently; read it once recording has stopped.

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

namespace newsroom::bench {

class LatencyHistogram final {
 public:
  // Adds one value, in nanoseconds.
  void Record(uint64_t nanos) {
    buckets_[Index(nanos)].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(nanos, std::memory_order_relaxed);
    uint64_t max = max_.load(std::memory_order_relaxed);
    while (nanos > max && !max_.compare_exchange_weak(max, nanos, std::memory_order_relaxed)) {
    }
  }

  [[nodiscard]] uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  [[nodiscard]] uint64_t max() const { return max_.load(std::memory_order_relaxed); }
  [[nodiscard]] double mean() const {
    const uint64_t n = count();
    return n == 0 ? 0.0 : static_cast<double>(sum_.load(std::memory_order_relaxed)) / n;
  }

  // Returns the value at quantile `q` (0 to 1) in nanoseconds: the midpoint of the bucket holding
  // the ceil(q * count)-th smallest value, capped at the largest value recorded; 0 when empty.
  [[nodiscard]] double Quantile(double q) const {
    const uint64_t n = count();
    if (n == 0) return 0;
    const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(q * n + 0.999999));
    uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i].load(std::memory_order_relaxed);
      if (seen >= rank) return std::min(Midpoint(i), static_cast<double>(max()));
    }
    return static_cast<double>(max());
  }

 private:
  static constexpr int kSubBits = 7;  // 128 exact values, then 64 buckets per octave
  static constexpr uint64_t kHalf = uint64_t{1} << (kSubBits - 1);
  static constexpr std::size_t kBuckets = (64 - kSubBits + 2) * kHalf;

  static std::size_t Index(uint64_t value) {
    const int width = std::bit_width(value);
    if (width <= kSubBits) return static_cast<std::size_t>(value);
    const int shift = width - kSubBits;
    return static_cast<std::size_t>(shift) * kHalf + static_cast<std::size_t>(value >> shift);
  }

  static double Midpoint(std::size_t index) {
    if (index < 2 * kHalf) return static_cast<double>(index);
    const std::size_t shift = index / kHalf - 1;
    const uint64_t low = (index % kHalf + kHalf) << shift;
    return static_cast<double>(low) + static_cast<double>(uint64_t{1} << shift) / 2;
  }

  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_{0};
  std::atomic<uint64_t> max_{0};
};

}  // namespace newsroom::bench
