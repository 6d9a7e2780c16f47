#include "tests/bench/load_generator_run.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>

#include "tests/support/build_paths.h"
#include "tests/support/process.h"

namespace newsroom::testing {

GeneratorRun RunLoadGenerator(const std::string& target, const std::vector<std::string>& flags) {
  TempDir dir;
  const std::string json_path = dir.path() + "/result.json";
  const std::string stderr_path = dir.path() + "/stderr.txt";
  std::vector<std::string> argv{build_paths::kLoadGenerator, "--target=" + target,
                                "--json_out=" + json_path, "--header=false"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  ChildProcess process(argv, {}, stderr_path);
  GeneratorRun run;
  // Generous: a run takes about a second, but the machine may be busy with other tests.
  run.exit_code = process.Wait(std::chrono::seconds(60));
  run.stdout_lines = process.lines();
  run.stderr_text = ReadFile(stderr_path);
  if (std::ifstream(json_path).good()) {
    bench::v1::RunResult result;
    const auto status = google::protobuf::util::JsonStringToMessage(ReadFile(json_path), &result);
    if (status.ok()) {
      run.result = std::move(result);
    } else {
      ADD_FAILURE() << "--json_out is not a RunResult: " << status.ToString();
    }
  }
  return run;
}

void ExpectOrderedLatencies(const bench::v1::LatencySummary& latency) {
  EXPECT_GT(latency.p50_us(), 0);
  EXPECT_LE(latency.p50_us(), latency.p90_us());
  EXPECT_LE(latency.p90_us(), latency.p99_us());
  EXPECT_LE(latency.p99_us(), latency.p999_us());
  EXPECT_LE(latency.p999_us(), latency.max_us());
  EXPECT_GT(latency.mean_us(), 0);
  EXPECT_LE(latency.mean_us(), latency.max_us());
}

void ExpectConsistentCounts(const bench::v1::RunResult& result) {
  int64_t errors = 0;
  for (const auto& [code, count] : result.errors()) {
    EXPECT_GT(count, 0) << code;
    errors += count;
  }
  EXPECT_EQ(result.calls(), result.ok_calls() + errors);
  const double ok = static_cast<double>(result.ok_calls());
  EXPECT_NEAR(result.qps() * result.duration_seconds(), ok, 1e-9 * std::max(1.0, ok));
  EXPECT_NEAR(result.items_per_second(), result.qps() * result.items_per_call(),
              1e-9 * std::max(1.0, result.items_per_second()));
}

}  // namespace newsroom::testing
