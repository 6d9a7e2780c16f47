#pragma once

// Reading a service's Prometheus /metrics page over loopback HTTP, for tests.

#include <optional>
#include <string>

namespace newsroom::testing {

// GET /metrics from 127.0.0.1:`port` (5 s timeouts). Fails the current test when the request
// fails, the status is not 200 or the content type is not Prometheus text 0.0.4; the body, or a
// "scrape failed: ..." line that matches no series.
std::string ScrapeMetrics(int port);

// The value of the sample written exactly as `series` (name and labels) in `scrape`, or nullopt.
std::optional<double> MetricValue(const std::string& scrape, const std::string& series);

}  // namespace newsroom::testing
