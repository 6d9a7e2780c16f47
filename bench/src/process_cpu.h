#pragma once

// CPU time of the processes a benchmark loads (the load generator itself, the services, Redis),
// read over the measured window. On two shared cores a path's throughput is bounded by the CPU
// all of them spend per call, so "microseconds of CPU per call, by process" says where a path's
// cost is, and stays meaningful when other tenants make the calls/s themselves noisy.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace newsroom::bench {

// A process whose CPU time a run reports, by the name the report gives it.
struct WatchedProcess {
  std::string name;
  int pid = 0;
};

// Parses a --cpu_of value: "name=pid,name=pid..." (empty: none). Names are non-empty and unique;
// pids positive.
absl::StatusOr<std::vector<WatchedProcess>> ParseWatchedProcesses(absl::string_view spec);

// The user plus system time in a /proc/PID/stat line, in clock ticks (fields 14 and 15). The
// command name (field 2) may hold spaces and parentheses, so fields are counted from the last ')'.
absl::StatusOr<int64_t> CpuTicksFromStat(absl::string_view stat_line);

// CPU time process `pid` has used so far, in nanoseconds (clock-tick resolution, 10 ms on Linux).
absl::StatusOr<int64_t> ProcessCpuNanos(int pid);

// CPU time this process has used so far, in nanoseconds (exact).
int64_t OwnCpuNanos();

}  // namespace newsroom::bench
