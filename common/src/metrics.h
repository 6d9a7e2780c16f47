#pragma once

// Prometheus metrics: counters, gauges and histograms whose updates are lock-free atomics (no
// allocation, no lock), registered once at start and rendered in the text exposition format
// 0.0.4 when scraped. A registry is made by main() and passed to what records into it; there is
// no global one.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace newsroom::metrics {

// Label name/value pairs of one series, in the order they are written.
using Labels = std::vector<std::pair<std::string, std::string>>;

// A value that only goes up (by whole events, e.g. calls or reads).
class Counter final {
 public:
  void Increment(std::uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  [[nodiscard]] std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge final {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }
  [[nodiscard]] double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted in buckets with fixed upper bounds (each counted in the first bucket
// whose bound is >= it, rendered cumulatively as Prometheus wants), plus their sum and count.
class Histogram final {
 public:
  // `bounds` must be strictly increasing and finite; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<std::uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  // The buckets as rendered. Concurrent observations may land in some fields and not yet others.
  [[nodiscard]] Snapshot Read() const;
  [[nodiscard]] const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  // Per bucket (not cumulative); the last is +Inf.
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// Bounds for request latencies in seconds: 100 µs to 10 s.
[[nodiscard]] std::vector<double> LatencyBuckets();

// One sample of a metric computed when scraped (see MetricsRegistry::AddCallback).
struct Sample {
  Labels labels;
  double value = 0;
};

enum class MetricType { kCounter, kGauge, kHistogram };

// The metrics of one process. Registration (at start) and Render (per scrape) take a lock;
// recording into a returned Counter/Gauge/Histogram does not. Returned references live as long
// as the registry. Names and labels are checked: a bad one is a programming error and aborts
// with a message, as does registering one name as two types or with a different help text.
class MetricsRegistry final {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // A new series of the family `name` (created on first use) with `labels`.
  Counter& AddCounter(absl::string_view name, absl::string_view help, Labels labels = {});
  Gauge& AddGauge(absl::string_view name, absl::string_view help, Labels labels = {});
  Histogram& AddHistogram(absl::string_view name, absl::string_view help,
                          std::vector<double> bounds, Labels labels = {});

  // A counter or gauge family whose samples `collect` returns at each scrape, for values that an
  // object already keeps (queue depths, counters behind its own lock). `collect` runs on the
  // scraping thread and must stay valid as long as the registry.
  void AddCallback(absl::string_view name, absl::string_view help, MetricType type,
                   std::function<std::vector<Sample>()> collect);

  // Every family in the Prometheus text format 0.0.4, in registration order.
  [[nodiscard]] std::string Render() const;

 private:
  struct Family {
    std::string name;
    std::string help;
    MetricType type;
    std::vector<std::pair<Labels, std::unique_ptr<Counter>>> counters;
    std::vector<std::pair<Labels, std::unique_ptr<Gauge>>> gauges;
    std::vector<std::pair<Labels, std::unique_ptr<Histogram>>> histograms;
    std::vector<std::function<std::vector<Sample>()>> callbacks;
  };
  Family& FamilyLocked(absl::string_view name, absl::string_view help, MetricType type)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
};

// Exposed for tests: the escaping and number format of the exposition format.
[[nodiscard]] std::string EscapeLabelValue(absl::string_view value);  // \ " and newline
[[nodiscard]] std::string EscapeHelp(absl::string_view help);         // \ and newline
[[nodiscard]] std::string FormatValue(double value);  // integers exactly; +Inf, -Inf, NaN
[[nodiscard]] bool IsValidMetricName(absl::string_view name);
[[nodiscard]] bool IsValidLabelName(absl::string_view name);

// The Content-Type of Render()'s output.
inline constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace newsroom::metrics
