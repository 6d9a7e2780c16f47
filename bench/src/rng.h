#pragma once

// The load generator's random numbers: splitmix64, cheap and good enough to pick articles and
// readers. Each call slot owns one, so none is shared between threads; a seed repeats its draws.

#include <cstdint>

namespace newsroom::bench {

class Rng final {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  // Returns the next 64 uniformly distributed bits.
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }

  // Returns a number in [0, n), n >= 1 (modulo bias below n / 2^64: nothing a benchmark sees).
  int Below(int n) { return static_cast<int>(Next() % static_cast<uint64_t>(n)); }

 private:
  uint64_t state_;
};

}  // namespace newsroom::bench
