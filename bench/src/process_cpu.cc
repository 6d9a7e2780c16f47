#include "bench/src/process_cpu.h"

#include <time.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace newsroom::bench {

absl::StatusOr<std::vector<WatchedProcess>> ParseWatchedProcesses(absl::string_view spec) {
  std::vector<WatchedProcess> processes;
  if (spec.empty()) return processes;
  std::set<std::string> names;
  for (absl::string_view entry : absl::StrSplit(spec, ',')) {
    const std::vector<absl::string_view> parts = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    int pid = 0;
    if (parts.size() != 2 || parts[0].empty() || !absl::SimpleAtoi(parts[1], &pid) || pid <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--cpu_of: \"", entry, "\" is not NAME=PID with a positive PID"));
    }
    if (!names.insert(std::string(parts[0])).second) {
      return absl::InvalidArgumentError(absl::StrCat("--cpu_of: \"", parts[0], "\" given twice"));
    }
    processes.push_back({std::string(parts[0]), pid});
  }
  return processes;
}

absl::StatusOr<int64_t> CpuTicksFromStat(absl::string_view stat_line) {
  const std::size_t name_end = stat_line.rfind(')');
  if (name_end == absl::string_view::npos) {
    return absl::InvalidArgumentError("stat line has no command name");
  }
  // After ") " come field 3 (state) onwards, so utime (14) and stime (15) are the 12th and 13th.
  const std::vector<absl::string_view> fields =
      absl::StrSplit(stat_line.substr(name_end + 1), ' ', absl::SkipEmpty());
  int64_t user = 0;
  int64_t system = 0;
  if (fields.size() < 13 || !absl::SimpleAtoi(fields[11], &user) ||
      !absl::SimpleAtoi(fields[12], &system) || user < 0 || system < 0) {
    return absl::InvalidArgumentError("stat line has no utime and stime");
  }
  return user + system;
}

absl::StatusOr<int64_t> ProcessCpuNanos(int pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/stat");
  std::ifstream file(path);
  std::string line;
  if (!std::getline(file, line)) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  absl::StatusOr<int64_t> ticks = CpuTicksFromStat(line);
  if (!ticks.ok()) return absl::InternalError(absl::StrCat(path, ": ", ticks.status().message()));
  static const int64_t ticks_per_second = sysconf(_SC_CLK_TCK);
  return *ticks * (1'000'000'000 / ticks_per_second);
}

int64_t OwnCpuNanos() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

}  // namespace newsroom::bench
