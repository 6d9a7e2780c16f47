// The real load_generator binary against the real empty server: the figures its --json_out reports
// must agree with each other, with the flags it was given and with the count of OK calls the server
// prints on shutdown. Runs are short, and nothing here depends on how fast the machine is: there is
// no latency threshold.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "newsroom/bench/v1/bench_results.pb.h"
#include "tests/bench/load_generator_run.h"
#include "tests/support/build_paths.h"
#include "tests/support/process.h"

namespace newsroom::testing {
namespace {

using bench::v1::RunResult;

// Stops the empty server and returns the OK calls it says it served (-1 when it says nothing).
int64_t StopAndReadOkCalls(StartedService& server) {
  server.process->Signal(SIGTERM);
  const auto line = server.process->WaitForLine("served", std::chrono::seconds(20));
  long long ok_calls = -1;
  if (!line || std::sscanf(line->c_str(), "empty_server served %lld calls OK", &ok_calls) != 1) {
    ADD_FAILURE() << "no \"empty_server served N calls OK\" line";
  }
  return ok_calls;
}

// Reads only a run of the empty scenario could have made: none.
void ExpectNoReads(const RunResult& result) {
  EXPECT_EQ(result.acknowledged_reads(), 0);
  EXPECT_EQ(result.reads_with_unknown_outcome(), 0);
  EXPECT_EQ(result.reads_queued(), 0);
}

TEST(LoadGeneratorTest, ClosedLoopFiguresAgreeWithTheFlagsAndTheServersCount) {
  StartedService server = StartService(build_paths::kEmptyServer, {});
  constexpr int kChannels = 2;
  constexpr int kInflight = 4;
  const GeneratorRun run = RunLoadGenerator(
      server.address(), {"--scenario=empty", "--channels=2", "--inflight=4", "--warmup=500ms",
                         "--duration=1s", "--label=closed-test", "--round=3",
                         "--cpu_of=empty_server=" + std::to_string(server.process->pid())});
  const int64_t served_ok = StopAndReadOkCalls(server);
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  ASSERT_TRUE(run.result.has_value()) << "no --json_out written";
  const RunResult& result = *run.result;

  EXPECT_EQ(result.scenario(), "empty");
  EXPECT_EQ(result.target(), server.address());
  EXPECT_EQ(result.mode(), "closed");
  EXPECT_EQ(result.label(), "closed-test");
  EXPECT_EQ(result.round(), 3);
  EXPECT_EQ(result.channels(), kChannels);
  EXPECT_EQ(result.inflight_per_channel(), kInflight);
  EXPECT_EQ(result.rate(), 0);
  EXPECT_EQ(result.warmup_seconds(), 0.5);
  EXPECT_EQ(result.duration_seconds(), 1.0);
  EXPECT_EQ(result.items_per_call(), 1);
  EXPECT_FALSE(result.responses_decoded());

  EXPECT_GT(result.ok_calls(), 0);
  EXPECT_TRUE(result.errors().empty());
  EXPECT_EQ(result.missed_sends(), 0);
  ExpectConsistentCounts(result);
  ExpectNoReads(result);
  ExpectOrderedLatencies(result.latency());
  // The server also answered the probe, the warm-up and the calls that ended after the window.
  EXPECT_GE(served_ok, result.ok_calls() + 1);

  // Little's law: with channels x inflight calls always outstanding, calls/s x mean latency is
  // that number, less the moments a slot spends between one call's end and the next one's start
  // (about 0.999 of it here). A figure in the wrong unit, or a window that took in the warm-up's
  // calls too (1.5 times as many), is well outside these bounds; a slow machine is not.
  const double outstanding = result.qps() * result.latency().mean_us() / 1e6;
  EXPECT_GT(outstanding, 0.7 * kChannels * kInflight);
  EXPECT_LT(outstanding, 1.2 * kChannels * kInflight);

  ASSERT_EQ(result.cpu_us_per_call().count("load_generator"), 1u);
  ASSERT_EQ(result.cpu_us_per_call().count("empty_server"), 1u);
  EXPECT_GT(result.cpu_us_per_call().at("load_generator"), 0);
  EXPECT_GT(result.cpu_us_per_call().at("empty_server"), 0);

  // The table row says what the JSON says.
  ASSERT_EQ(run.stdout_lines.size(), 1u);
  std::istringstream row(run.stdout_lines[0]);
  std::string scenario, label, load, calls_per_second;
  row >> scenario >> label >> load >> calls_per_second;
  EXPECT_EQ(scenario, "empty");
  EXPECT_EQ(label, "closed-test");
  EXPECT_EQ(load, "2x4");
  char expected_qps[32];
  std::snprintf(expected_qps, sizeof expected_qps, "%.0f", result.qps());
  EXPECT_EQ(calls_per_second, expected_qps);
  EXPECT_EQ(run.stdout_lines[0].back(), '-') << "the errors column";
}

TEST(LoadGeneratorTest, OpenLoopSendsEveryScheduledCallExactlyOnce) {
  StartedService server = StartService(build_paths::kEmptyServer, {});
  // 500/s from the start of the warm-up to the end of the window: 500 x (0.2 + 1) sends.
  constexpr int64_t kScheduled = 600;
  constexpr int64_t kScheduledInWindow = 500;
  const GeneratorRun run = RunLoadGenerator(
      server.address(),
      {"--scenario=empty", "--rate=500", "--channels=2", "--warmup=200ms", "--duration=1s"});
  const int64_t served_ok = StopAndReadOkCalls(server);
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  ASSERT_TRUE(run.result.has_value()) << "no --json_out written";
  const RunResult& result = *run.result;

  EXPECT_EQ(result.mode(), "open");
  EXPECT_EQ(result.rate(), 500);
  EXPECT_EQ(result.inflight_per_channel(), 0);
  EXPECT_EQ(result.channels(), 2);
  EXPECT_TRUE(result.errors().empty());
  EXPECT_EQ(result.missed_sends(), 0);
  ExpectConsistentCounts(result);
  ExpectNoReads(result);
  ExpectOrderedLatencies(result.latency());

  // Every scheduled send reached the server and was answered, plus the probe; none twice.
  EXPECT_EQ(served_ok, kScheduled + 1);
  // The window counts the calls that ended in it: about its own 500 sends. Generous bounds: the
  // warm-up's 100 calls counted too would be out, a call delayed across an edge of it is not.
  EXPECT_GE(result.ok_calls(), kScheduledInWindow / 2);
  EXPECT_LE(result.ok_calls(), kScheduledInWindow * 115 / 100);
}

TEST(LoadGeneratorTest, OpenLoopCountsEverySendOverMaxOutstandingAsMissed) {
  StartedService server = StartService(build_paths::kEmptyServer, {});
  // One call in flight at most, one send due every 10 us: no loopback round trip is that quick,
  // so most sends are missed. No warm-up, so every send falls in the window.
  constexpr int64_t kScheduled = 50'000;  // 100000/s x 0.5 s
  const GeneratorRun run = RunLoadGenerator(
      server.address(), {"--scenario=empty", "--rate=100000", "--max_outstanding=1", "--channels=1",
                         "--warmup=0s", "--duration=500ms"});
  const int64_t served_ok = StopAndReadOkCalls(server);
  ASSERT_EQ(run.exit_code, 0) << run.stderr_text;
  ASSERT_TRUE(run.result.has_value()) << "no --json_out written";
  const RunResult& result = *run.result;

  EXPECT_TRUE(result.errors().empty());
  ExpectConsistentCounts(result);
  EXPECT_GT(result.missed_sends(), 0);
  // Each scheduled send was either made (and answered OK) or counted as missed; the probe is extra.
  EXPECT_EQ(served_ok - 1 + result.missed_sends(), kScheduled);
  EXPECT_LE(result.ok_calls(), served_ok - 1);
  const std::string fell_behind =
      "  open loop fell behind: " + std::to_string(result.missed_sends()) +
      " sends missed (over --max_outstanding)";
  EXPECT_NE(std::find(run.stdout_lines.begin(), run.stdout_lines.end(), fell_behind),
            run.stdout_lines.end())
      << "no line: " << fell_behind;
}

TEST(LoadGeneratorTest, StopsBeforeAnyLoadWhenTheFirstCallFails) {
  // The empty server has no ContentService: GetArticle is UNIMPLEMENTED there.
  StartedService server = StartService(build_paths::kEmptyServer, {});
  const GeneratorRun run = RunLoadGenerator(
      server.address(), {"--scenario=get_article", "--warmup=200ms", "--duration=1s"});
  const int64_t served_ok = StopAndReadOkCalls(server);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.stderr_text.find("scenario get_article: the first call failed with UNIMPLEMENTED"),
            std::string::npos)
      << run.stderr_text;
  EXPECT_FALSE(run.result.has_value()) << "a failed setup wrote figures";
  EXPECT_EQ(served_ok, 0);
}

// A flag out of range is refused by name before any call: the server sees none.
TEST(LoadGeneratorTest, RefusesFlagsOutOfRangeBeforeAnyCall) {
  StartedService server = StartService(build_paths::kEmptyServer, {});
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"--channels=0", "--channels: must be at least 1"},
      {"--inflight=0", "--inflight: must be at least 1"},
      {"--rate=-1", "--rate: must not be negative"},
      {"--max_outstanding=0", "--max_outstanding: must be at least 1"},
      {"--duration=0s", "--duration: must be positive"},
      {"--warmup=-1s", "--warmup: must not be negative"},
      {"--article_skew=-1", "--article_skew: must be 0 to 4"},
      {"--article_skew=4.5", "--article_skew: must be 0 to 4"},
      {"--article_skew=nan", "--article_skew: must be 0 to 4"},
      {"--article_skew=inf", "--article_skew: must be 0 to 4"},
      {"--batch_size=1001", "--batch_size: must be 1 to 1000"},
      {"--edits_per_second=-1", "--edits_per_second: must be 0 to 10000"},
      {"--edits_per_second=5", "--edits_per_second needs --editor_token_file"},
  };
  for (const auto& [flag, message] : refused) {
    // The flag last, so that it overrides the short duration.
    const GeneratorRun run = RunLoadGenerator(server.address(), {"--duration=1s", flag});
    EXPECT_EQ(run.exit_code, 1) << flag;
    EXPECT_NE(run.stderr_text.find(message), std::string::npos) << flag << ": " << run.stderr_text;
    EXPECT_FALSE(run.result.has_value()) << flag;
  }
  EXPECT_EQ(StopAndReadOkCalls(server), 0);
}

}  // namespace
}  // namespace newsroom::testing
