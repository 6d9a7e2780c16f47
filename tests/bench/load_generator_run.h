#pragma once

// Runs the real load_generator binary and reads back what it reported, plus the checks every
// run's figures must pass whatever the server did.

#include <optional>
#include <string>
#include <vector>

#include "newsroom/bench/v1/bench_results.pb.h"

namespace newsroom::testing {

// What one load_generator run left behind.
struct GeneratorRun {
  std::optional<int> exit_code;                // nullopt: still running at the timeout (killed)
  std::optional<bench::v1::RunResult> result;  // the --json_out file, when one was written
  std::vector<std::string> stdout_lines;
  std::string stderr_text;
};

// Runs load_generator against `target` with `flags` plus --json_out and --header=false, and waits
// for it to exit. A --json_out that is not a RunResult (strictly parsed) fails the test.
GeneratorRun RunLoadGenerator(const std::string& target, const std::vector<std::string>& flags);

// Percentiles never decrease and end at max; every call took some time.
void ExpectOrderedLatencies(const bench::v1::LatencySummary& latency);

// calls = OK + every error; calls/s and items/s are the window's OK calls (and items) over its
// length.
void ExpectConsistentCounts(const bench::v1::RunResult& result);

}  // namespace newsroom::testing
