#include "common/src/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace newsroom::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, CounterFamilyRendersHelpTypeAndEverySeries) {
  MetricsRegistry registry;
  registry.AddCounter("reads_total", "Reads.", {{"result", "ok"}}).Increment(3);
  registry.AddCounter("reads_total", "Reads.", {{"result", "duplicate"}});
  EXPECT_EQ(registry.Render(),
            "# HELP reads_total Reads.\n"
            "# TYPE reads_total counter\n"
            "reads_total{result=\"ok\"} 3\n"
            "reads_total{result=\"duplicate\"} 0\n");
}

TEST(MetricsTest, GaugeWithoutLabelsHasNoBraces) {
  MetricsRegistry registry;
  Gauge& depth = registry.AddGauge("outbox_depth", "Reads waiting.");
  depth.Set(7);
  depth.Add(-2.5);
  EXPECT_EQ(registry.Render(),
            "# HELP outbox_depth Reads waiting.\n"
            "# TYPE outbox_depth gauge\n"
            "outbox_depth 4.5\n");
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.AddCounter("x_total", "X.", {{"path", "a\\b \"q\"\nz"}, {"utf8", "Zürich"}}).Increment();
  EXPECT_THAT(registry.Render(),
              HasSubstr("x_total{path=\"a\\\\b \\\"q\\\"\\nz\",utf8=\"Zürich\"} 1\n"));
}

TEST(MetricsTest, HelpIsEscapedButQuotesAreNot) {
  MetricsRegistry registry;
  registry.AddGauge("g", "line one\nback\\slash \"quoted\"");
  EXPECT_THAT(registry.Render(), HasSubstr("# HELP g line one\\nback\\\\slash \"quoted\"\n"));
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  MetricsRegistry registry;
  Histogram& latency =
      registry.AddHistogram("call_seconds", "Latency.", {0.1, 0.5, 1}, {{"method", "Get"}});
  for (double value : {0.05, 0.1, 0.3, 0.7, 2.0, 0.0}) latency.Observe(value);
  EXPECT_EQ(registry.Render(),
            "# HELP call_seconds Latency.\n"
            "# TYPE call_seconds histogram\n"
            "call_seconds_bucket{method=\"Get\",le=\"0.1\"} 3\n"  // 0, 0.05 and 0.1 (le: <=)
            "call_seconds_bucket{method=\"Get\",le=\"0.5\"} 4\n"
            "call_seconds_bucket{method=\"Get\",le=\"1\"} 5\n"
            "call_seconds_bucket{method=\"Get\",le=\"+Inf\"} 6\n"
            "call_seconds_sum{method=\"Get\"} 3.15\n"
            "call_seconds_count{method=\"Get\"} 6\n");
}

TEST(MetricsTest, HistogramWithoutLabelsPutsOnlyLeInBraces) {
  MetricsRegistry registry;
  registry.AddHistogram("h_seconds", "H.", {1}).Observe(5);
  EXPECT_THAT(registry.Render(), HasSubstr("h_seconds_bucket{le=\"1\"} 0\n"
                                           "h_seconds_bucket{le=\"+Inf\"} 1\n"
                                           "h_seconds_sum 5\n"
                                           "h_seconds_count 1\n"));
}

TEST(MetricsTest, LatencyBucketsRenderShortAndIncreasing) {
  MetricsRegistry registry;
  registry.AddHistogram("l_seconds", "L.", LatencyBuckets());
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("l_seconds_bucket{le=\"0.0001\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("l_seconds_bucket{le=\"0.00025\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("l_seconds_bucket{le=\"2.5\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("l_seconds_bucket{le=\"10\"} 0\n"));
}

TEST(MetricsTest, CallbackSamplesAreCollectedAtEachScrape) {
  MetricsRegistry registry;
  int depth = 1;
  registry.AddCallback("queue_depth", "Q.", MetricType::kGauge, [&depth] {
    return std::vector<Sample>{{.labels = {{"queue", "a"}}, .value = double(depth)}};
  });
  EXPECT_THAT(registry.Render(), HasSubstr("queue_depth{queue=\"a\"} 1\n"));
  depth = 42;
  EXPECT_THAT(registry.Render(), HasSubstr("queue_depth{queue=\"a\"} 42\n"));
}

TEST(MetricsTest, ValuesFormatAsPrometheusReadsThem) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(12345678901234), "12345678901234");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(1e300), "1e+300");
  EXPECT_EQ(FormatValue(0.1 + 0.2), "0.30000000000000004");  // shortest that reads back exactly
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
}

TEST(MetricsTest, NamesAreChecked) {
  const struct {
    const char* name;
    bool metric;
    bool label;
  } kCases[] = {
      {"reads_total", true, true}, {"_x", true, true}, {"a:b", true, false},
      {"9lives", false, false},    {"", false, false}, {"a-b", false, false},
      {"a b", false, false},       {"a1", true, true}, {"é", false, false},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(IsValidMetricName(c.name), c.metric) << c.name;
    EXPECT_EQ(IsValidLabelName(c.name), c.label) << c.name;
  }
}

TEST(MetricsDeathTest, BadNamesAndTypeClashesAbort) {
  MetricsRegistry registry;
  registry.AddCounter("a_total", "A.");
  EXPECT_DEATH(registry.AddCounter("bad-name", "B."), "bad metric name");
  EXPECT_DEATH(registry.AddGauge("a_total", "A."), "another type");
  EXPECT_DEATH(registry.AddCounter("a_total", "Other."), "another help");
  EXPECT_DEATH(registry.AddCounter("c_total", "C.", {{"le", "1"}}), "bad label name");
  EXPECT_DEATH(registry.AddHistogram("h", "H.", {1, 1}), "strictly increasing");
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  Counter& counter = registry.AddCounter("n_total", "N.");
  Histogram& histogram = registry.AddHistogram("d_seconds", "D.", {0.5});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.Increment();
        histogram.Observe(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(counter.value(), 40000u);
  const Histogram::Snapshot snapshot = histogram.Read();
  EXPECT_EQ(snapshot.count, 40000u);
  EXPECT_EQ(snapshot.sum, 40000.0);
  EXPECT_EQ(snapshot.cumulative.front(), 0u);
}

}  // namespace
}  // namespace newsroom::metrics
