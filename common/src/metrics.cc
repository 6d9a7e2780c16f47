#include "common/src/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/src/log.h"

namespace newsroom::metrics {
namespace {

[[noreturn]] void Fatal(absl::string_view what, absl::string_view name) {
  log::Error(absl::StrCat("metrics: ", what), {{"metric", name}});
  std::abort();
}

const char* TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void CheckLabels(const Labels& labels, absl::string_view metric) {
  for (const auto& [name, value] : labels) {
    // "le" is the histogram's own label; names starting "__" are reserved.
    if (!IsValidLabelName(name) || name == "le" || absl::StartsWith(name, "__")) {
      Fatal(absl::StrCat("bad label name on ", metric), name);
    }
  }
}

// `{a="x",b="y"}`, with `extra` (e.g. le) last; empty when there are no labels at all.
std::string LabelText(const Labels& labels, absl::string_view extra_name = "",
                      absl::string_view extra_value = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string text = "{";
  bool first = true;
  for (const auto& [name, value] : labels) {
    absl::StrAppend(&text, first ? "" : ",", name, "=\"", EscapeLabelValue(value), "\"");
    first = false;
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&text, first ? "" : ",", extra_name, "=\"", extra_value, "\"");
  }
  text += "}";
  return text;
}

void AppendSample(std::string& out, absl::string_view name, const std::string& labels,
                  double value) {
  absl::StrAppend(&out, name, labels, " ", FormatValue(value), "\n");
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (!std::isfinite(bounds_[i]) || (i > 0 && bounds_[i] <= bounds_[i - 1])) {
      Fatal("histogram bounds must be finite and strictly increasing", FormatValue(bounds_[i]));
    }
  }
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  const std::size_t bucket =
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(total);
  }
  snapshot.count = total;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

bool IsValidMetricName(absl::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok =
        absl::ascii_isalpha(c) || c == '_' || c == ':' || (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsValidLabelName(absl::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = absl::ascii_isalpha(c) || c == '_' || (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(absl::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Whole numbers below 2^53 exactly (counters), the rest with full precision.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return absl::StrCat(static_cast<std::int64_t>(value));
  }
  // The shortest text that reads back as the same double (0.1 rather than 0.10000000000000001).
  char buffer[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

MetricsRegistry::Family& MetricsRegistry::FamilyLocked(absl::string_view name,
                                                       absl::string_view help, MetricType type) {
  if (!IsValidMetricName(name)) Fatal("bad metric name", name);
  for (const auto& family : families_) {
    if (family->name != name) continue;
    if (family->type != type) Fatal("registered again as another type", name);
    if (family->help != help) Fatal("registered again with another help text", name);
    return *family;
  }
  families_.push_back(std::make_unique<Family>(
      Family{.name = std::string(name), .help = std::string(help), .type = type}));
  return *families_.back();
}

Counter& MetricsRegistry::AddCounter(absl::string_view name, absl::string_view help,
                                     Labels labels) {
  CheckLabels(labels, name);
  absl::MutexLock lock(&mu_);
  Family& family = FamilyLocked(name, help, MetricType::kCounter);
  family.counters.emplace_back(std::move(labels), std::make_unique<Counter>());
  return *family.counters.back().second;
}

Gauge& MetricsRegistry::AddGauge(absl::string_view name, absl::string_view help, Labels labels) {
  CheckLabels(labels, name);
  absl::MutexLock lock(&mu_);
  Family& family = FamilyLocked(name, help, MetricType::kGauge);
  family.gauges.emplace_back(std::move(labels), std::make_unique<Gauge>());
  return *family.gauges.back().second;
}

Histogram& MetricsRegistry::AddHistogram(absl::string_view name, absl::string_view help,
                                         std::vector<double> bounds, Labels labels) {
  CheckLabels(labels, name);
  absl::MutexLock lock(&mu_);
  Family& family = FamilyLocked(name, help, MetricType::kHistogram);
  family.histograms.emplace_back(std::move(labels), std::make_unique<Histogram>(std::move(bounds)));
  return *family.histograms.back().second;
}

void MetricsRegistry::AddCallback(absl::string_view name, absl::string_view help, MetricType type,
                                  std::function<std::vector<Sample>()> collect) {
  if (type == MetricType::kHistogram) Fatal("callback histograms are not supported", name);
  absl::MutexLock lock(&mu_);
  FamilyLocked(name, help, type).callbacks.push_back(std::move(collect));
}

std::string MetricsRegistry::Render() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const auto& family : families_) {
    absl::StrAppend(&out, "# HELP ", family->name, " ", EscapeHelp(family->help), "\n", "# TYPE ",
                    family->name, " ", TypeName(family->type), "\n");
    for (const auto& [labels, counter] : family->counters) {
      AppendSample(out, family->name, LabelText(labels), static_cast<double>(counter->value()));
    }
    for (const auto& [labels, gauge] : family->gauges) {
      AppendSample(out, family->name, LabelText(labels), gauge->value());
    }
    for (const auto& collect : family->callbacks) {
      for (const Sample& sample : collect()) {
        CheckLabels(sample.labels, family->name);
        AppendSample(out, family->name, LabelText(sample.labels), sample.value);
      }
    }
    for (const auto& [labels, histogram] : family->histograms) {
      const Histogram::Snapshot snapshot = histogram->Read();
      const std::string bucket = absl::StrCat(family->name, "_bucket");
      const auto& bounds = histogram->bounds();
      for (std::size_t i = 0; i <= bounds.size(); ++i) {
        const std::string le = i < bounds.size() ? FormatValue(bounds[i]) : "+Inf";
        AppendSample(out, bucket, LabelText(labels, "le", le),
                     static_cast<double>(snapshot.cumulative[i]));
      }
      AppendSample(out, absl::StrCat(family->name, "_sum"), LabelText(labels), snapshot.sum);
      AppendSample(out, absl::StrCat(family->name, "_count"), LabelText(labels),
                   static_cast<double>(snapshot.count));
    }
  }
  return out;
}

}  // namespace newsroom::metrics
