// LatencyHistogram, which every latency figure of the load generator comes from: its bucket
// geometry, its quantile ranks, its documented error bound, and its counts under concurrent Record.

#include "bench/src/histogram.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace newsroom::bench {
namespace {

// Far above every value a test reports on, so that the cap at max() never hides a bucket midpoint.
constexpr uint64_t kSentinel = std::numeric_limits<uint64_t>::max();

// About 30 KB of buckets: on the heap rather than on a test thread's stack.
std::unique_ptr<LatencyHistogram> NewHistogram() { return std::make_unique<LatencyHistogram>(); }

// What the histogram reports for `value` alone: the value, then the sentinel, read at rank 1.
double Reported(uint64_t value) {
  auto histogram = NewHistogram();
  histogram->Record(value);
  histogram->Record(kSentinel);
  return histogram->Quantile(0.5);
}

TEST(LatencyHistogramTest, EmptyHistogramReportsZero) {
  auto histogram = NewHistogram();
  EXPECT_EQ(histogram->count(), 0u);
  EXPECT_EQ(histogram->max(), 0u);
  EXPECT_EQ(histogram->mean(), 0.0);
  EXPECT_EQ(histogram->Quantile(0), 0.0);
  EXPECT_EQ(histogram->Quantile(0.5), 0.0);
  EXPECT_EQ(histogram->Quantile(1), 0.0);
}

TEST(LatencyHistogramTest, ValuesBelow128NanosecondsAreExact) {
  auto histogram = NewHistogram();
  for (uint64_t value = 0; value < 128; ++value) histogram->Record(value);
  histogram->Record(kSentinel);
  const double n = static_cast<double>(histogram->count());
  for (uint64_t value = 0; value < 128; ++value) {
    // Rank value + 1: the (value + 1)-th smallest, which is `value` itself.
    EXPECT_EQ(histogram->Quantile((static_cast<double>(value) + 0.5) / n),
              static_cast<double>(value))
        << "value " << value;
  }
}

TEST(LatencyHistogramTest, LargerValuesAreReportedAsTheirBucketsMidpoint) {
  // 64 buckets per power of two: [128, 256) in buckets of 2, [256, 512) of 4, [512, 1024) of 8...
  struct Case {
    uint64_t value;
    double midpoint;
  };
  const Case cases[] = {
      {128, 129},
      {129, 129},
      {130, 131},
      {255, 255},
      {256, 258},
      {259, 258},
      {260, 262},
      {1000, 1004},
      {1007, 1004},
      {1008, 1012},
      {999'999, 999'424 + 4'096},
  };
  for (const Case& c : cases) EXPECT_EQ(Reported(c.value), c.midpoint) << "value " << c.value;
}

TEST(LatencyHistogramTest, EveryValueIsWithinOneSixtyFourthOfWhatIsReported) {
  // Every value up to 4096, then both sides of each power of two and halfway up each octave.
  std::vector<uint64_t> values;
  for (uint64_t value = 0; value <= 4096; ++value) values.push_back(value);
  for (int exponent = 12; exponent < 64; ++exponent) {
    const uint64_t power = uint64_t{1} << exponent;
    values.insert(values.end(), {power - 1, power, power + 1, power + power / 2 + 1});
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());

  auto histogram = NewHistogram();
  for (uint64_t value : values) histogram->Record(value);
  histogram->Record(kSentinel);
  const double n = static_cast<double>(histogram->count());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double value = static_cast<double>(values[i]);
    EXPECT_NEAR(histogram->Quantile((static_cast<double>(i) + 0.5) / n), value, value / 64)
        << "value " << values[i];
  }
}

TEST(LatencyHistogramTest, QuantilesOfUniformLatenciesAreWithinTheDocumentedError) {
  // 1 to 10000 us in steps of 1 us, recorded in no particular order.
  std::vector<uint64_t> nanos;
  for (uint64_t us = 1; us <= 10'000; ++us) nanos.push_back(us * 1'000);
  std::shuffle(nanos.begin(), nanos.end(), std::mt19937_64(42));
  auto histogram = NewHistogram();
  for (uint64_t value : nanos) histogram->Record(value);

  // The ceil(q * 10000)-th smallest value is q * 10000 us.
  for (const double q : {0.5, 0.9, 0.99, 0.999}) {
    const double expected = q * 10'000 * 1'000;
    EXPECT_NEAR(histogram->Quantile(q), expected, expected / 64) << "q " << q;
  }
  EXPECT_EQ(histogram->count(), 10'000u);
  EXPECT_EQ(histogram->max(), 10'000'000u);
  EXPECT_EQ(histogram->mean(), 5'000'500.0);  // (1 + 10000) / 2 us
}

TEST(LatencyHistogramTest, OnePercentTailShowsAtP999ButNotAtP99) {
  auto histogram = NewHistogram();
  for (int i = 0; i < 990; ++i) histogram->Record(100'000);    // 100 us
  for (int i = 0; i < 10; ++i) histogram->Record(50'000'000);  // 50 ms
  EXPECT_NEAR(histogram->Quantile(0.99), 100'000, 100'000.0 / 64);
  EXPECT_NEAR(histogram->Quantile(0.999), 50'000'000, 50'000'000.0 / 64);
  EXPECT_EQ(histogram->mean(), 599'000.0);
}

TEST(LatencyHistogramTest, QuantileIsTheValueAtRankCeilingOfQTimesCount) {
  auto histogram = NewHistogram();
  for (uint64_t value = 1; value <= 10; ++value) histogram->Record(value);
  struct Case {
    double q;
    double value;
  };
  const Case cases[] = {
      {0, 1},      // rank at least 1
      {0.05, 1},   // ceil(0.5)
      {0.1, 1},    // exactly 1
      {0.11, 2},   // ceil(1.1), not rounded down
      {0.5, 5},    // exactly 5
      {0.51, 6},   // ceil(5.1)
      {0.9, 9},    // exactly 9
      {0.91, 10},  // ceil(9.1)
      {1, 10},
  };
  for (const Case& c : cases) EXPECT_EQ(histogram->Quantile(c.q), c.value) << "q " << c.q;
}

TEST(LatencyHistogramTest, RankToleratesQTimesCountLandingJustAboveAWholeNumber) {
  // 0.07 * 100 is 7.000000000000001 in double: a plain ceil would take the 8th value.
  auto histogram = NewHistogram();
  for (uint64_t value = 1; value <= 100; ++value) histogram->Record(value);
  EXPECT_EQ(histogram->Quantile(0.07), 7.0);
  EXPECT_EQ(histogram->Quantile(0.14), 14.0);  // 14.000000000000002
  EXPECT_EQ(histogram->Quantile(0.57), 57.0);  // 56.99999999999999
}

TEST(LatencyHistogramTest, QuantileIsCappedAtTheLargestValue) {
  // 1000 ns is in [1000, 1008), whose midpoint (1004) is more than anything recorded.
  auto histogram = NewHistogram();
  histogram->Record(1'000);
  EXPECT_EQ(histogram->Quantile(0.5), 1'000.0);
  EXPECT_EQ(histogram->Quantile(1), 1'000.0);
}

TEST(LatencyHistogramTest, TracksCountMeanAndMax) {
  auto histogram = NewHistogram();
  for (uint64_t value : {300u, 1'000u, 5u}) histogram->Record(value);  // max is not the last
  EXPECT_EQ(histogram->count(), 3u);
  EXPECT_EQ(histogram->max(), 1'000u);
  EXPECT_EQ(histogram->mean(), 435.0);
}

// Starts `threads` threads, each running `record(thread)` once, all at the same moment.
void RecordConcurrently(int threads, const std::function<void(int)>& record) {
  std::atomic<bool> go{false};
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      while (!go.load()) {
      }
      record(t);
    });
  }
  go.store(true);
  for (std::thread& thread : running) thread.join();
}

TEST(LatencyHistogramTest, ConcurrentRecordsIntoOneBucketLoseNoCount) {
  // Every thread records 1000 to 1007 ns over and over: one bucket, [1000, 1008), for all of them.
  constexpr int kThreads = 4;
  constexpr uint64_t kPerThread = 500'000;
  auto histogram = NewHistogram();
  RecordConcurrently(kThreads, [&](int) {
    for (uint64_t i = 0; i < kPerThread; ++i) histogram->Record(1'000 + i % 8);
  });
  EXPECT_EQ(histogram->count(), kThreads * kPerThread);
  EXPECT_EQ(histogram->mean(), 1'003.5);  // the sum is exact
  EXPECT_EQ(histogram->max(), 1'007u);
  // The bucket's midpoint only when the bucket holds every record: short of count(), the rank walk
  // runs off the end and reports max() instead.
  EXPECT_EQ(histogram->Quantile(1), 1'004.0);
}

TEST(LatencyHistogramTest, ConcurrentRecordsOfRisingValuesKeepTheMaxAndTheBuckets) {
  // Each thread records its own interleaved share of 0 .. kThreads * kPerThread - 1, so that every
  // thread keeps raising max() and hits the same buckets as the others.
  constexpr int kThreads = 4;
  constexpr uint64_t kPerThread = 200'000;
  constexpr uint64_t kTotal = kThreads * kPerThread;
  auto concurrent = NewHistogram();
  RecordConcurrently(kThreads, [&](int thread) {
    for (uint64_t i = 0; i < kPerThread; ++i) concurrent->Record(i * kThreads + thread);
  });
  EXPECT_EQ(concurrent->count(), kTotal);
  EXPECT_EQ(concurrent->max(), kTotal - 1);
  EXPECT_EQ(concurrent->mean(), static_cast<double>(kTotal - 1) / 2);
  // Bucket counts: the same quantiles as the same values recorded by one thread.
  auto sequential = NewHistogram();
  for (uint64_t value = 0; value < kTotal; ++value) sequential->Record(value);
  for (const double q : {0.0001, 0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999}) {
    EXPECT_EQ(concurrent->Quantile(q), sequential->Quantile(q)) << "q " << q;
  }
}

}  // namespace
}  // namespace newsroom::bench
