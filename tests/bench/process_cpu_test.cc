#include "bench/src/process_cpu.h"

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace newsroom::bench {
namespace {

using ::testing::HasSubstr;

TEST(CpuTicksFromStatTest, AddsUserAndSystemTicks) {
  // A real line's shape: pid (comm) state ppid ... utime=14 stime=15 cutime cstime ...
  const auto ticks = CpuTicksFromStat(
      "4242 (redis-server) S 1 4242 4242 0 -1 4194560 1030 0 0 0 1234 567 0 0 20 0 5 0 100 "
      "1000000 2000 18446744073709551615 1 1 0 0 0 0 0 4097 17638 0 0 0 17 1 0 0 0 0 0");
  ASSERT_TRUE(ticks.ok()) << ticks.status();
  EXPECT_EQ(*ticks, 1234 + 567);
}

TEST(CpuTicksFromStatTest, CountsFieldsFromTheLastParenthesis) {
  // Thread and process names may hold spaces and ") " themselves.
  const auto ticks =
      CpuTicksFromStat("7 (a) b (c d) R 1 7 7 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 5 0 0");
  ASSERT_TRUE(ticks.ok()) << ticks.status();
  EXPECT_EQ(*ticks, 30);
}

TEST(CpuTicksFromStatTest, RefusesTruncatedOrMalformedLines) {
  EXPECT_FALSE(CpuTicksFromStat("").ok());
  EXPECT_FALSE(CpuTicksFromStat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 10").ok());
  EXPECT_FALSE(CpuTicksFromStat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 ten 20").ok());
  EXPECT_FALSE(CpuTicksFromStat("1 x S 1 1 1 0 -1 0 0 0 0 0 10 20").ok());
}

TEST(ProcessCpuNanosTest, ReadsALiveProcessAndRefusesAMissingOne) {
  // Burn a little CPU so that our own /proc figure has at least a tick to show.
  const int64_t start = OwnCpuNanos();
  volatile uint64_t sink = 0;
  while (OwnCpuNanos() - start < 30'000'000) sink = sink + 1;
  const auto own = ProcessCpuNanos(getpid());
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_GT(*own, 0);
  EXPECT_LE(*own, OwnCpuNanos());
  const auto missing = ProcessCpuNanos(0x7ffffff0);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(ParseWatchedProcessesTest, ParsesNamesAndPids) {
  const auto processes = ParseWatchedProcesses("content-service=12,redis-server=7");
  ASSERT_TRUE(processes.ok()) << processes.status();
  ASSERT_EQ(processes->size(), 2u);
  EXPECT_EQ((*processes)[0].name, "content-service");
  EXPECT_EQ((*processes)[0].pid, 12);
  EXPECT_EQ((*processes)[1].name, "redis-server");
  EXPECT_EQ((*processes)[1].pid, 7);
  EXPECT_TRUE(ParseWatchedProcesses("")->empty());
}

TEST(ParseWatchedProcessesTest, RefusesBadEntries) {
  for (const char* spec : {"content-service", "=12", "a=0", "a=-3", "a=12x", "a=1,,b=2"}) {
    const auto processes = ParseWatchedProcesses(spec);
    EXPECT_EQ(processes.status().code(), absl::StatusCode::kInvalidArgument) << spec;
    EXPECT_THAT(processes.status().message(), HasSubstr("--cpu_of")) << spec;
  }
  EXPECT_THAT(ParseWatchedProcesses("a=1,a=2").status().message(), HasSubstr("given twice"));
}

}  // namespace
}  // namespace newsroom::bench
