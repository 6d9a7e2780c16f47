// The real load_generator binary against servers that fail or answer calls as the test scripts
// them: its errors by status code, and its read counts (which scripts/bench checks against Redis),
// must match what the server answered.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "newsroom/bench/v1/bench_results.pb.h"
#include "tests/bench/load_generator_run.h"
#include "tests/bench/scripted_services.h"

namespace newsroom::testing {
namespace {

using bench::v1::RunResult;

// Closed loop, short: enough calls for every scripted outcome to turn up in the window.
const std::vector<std::string> kShortRun = {"--channels=1", "--inflight=4", "--warmup=100ms",
                                            "--duration=400ms"};

std::vector<std::string> ShortRunOf(const std::string& scenario,
                                    const std::vector<std::string>& more = {}) {
  std::vector<std::string> flags = kShortRun;
  flags.push_back("--scenario=" + scenario);
  flags.insert(flags.end(), more.begin(), more.end());
  return flags;
}

// Runs the load generator with `flags` against `service`, served by this process. The run, when
// the server started and the generator exited 0 and wrote its JSON; otherwise the test has failed
// saying why, and nullopt.
std::optional<GeneratorRun> RunAgainst(grpc::Service* service,
                                       const std::vector<std::string>& flags) {
  InProcessServer server({service});
  if (!server.started()) {
    ADD_FAILURE() << "the in-process server did not start";
    return std::nullopt;
  }
  GeneratorRun run = RunLoadGenerator(server.address(), flags);
  if (run.exit_code != 0) {
    ADD_FAILURE() << "load_generator did not exit 0: " << run.stderr_text;
    return std::nullopt;
  }
  if (!run.result.has_value()) {
    ADD_FAILURE() << "no --json_out written";
    return std::nullopt;
  }
  return run;
}

TEST(LoadGeneratorScriptedTest, CountsFailedCallsByStatusCode) {
  // The probe (call 0) succeeds; after it, every third call succeeds and the others fail with one
  // of two codes.
  CallScript script([](int64_t call) {
    switch (call % 3) {
      case 0:
        return grpc::StatusCode::OK;
      case 1:
        return grpc::StatusCode::RESOURCE_EXHAUSTED;
      default:
        return grpc::StatusCode::FAILED_PRECONDITION;
    }
  });
  ScriptedBenchService service(&script);
  const std::optional<GeneratorRun> run = RunAgainst(&service, ShortRunOf("empty"));
  ASSERT_TRUE(run.has_value());
  const RunResult& result = *run->result;

  ASSERT_EQ(result.errors().size(), 2u);
  ASSERT_EQ(result.errors().count("RESOURCE_EXHAUSTED"), 1u);
  ASSERT_EQ(result.errors().count("FAILED_PRECONDITION"), 1u);
  ExpectConsistentCounts(result);
  ExpectOrderedLatencies(result.latency());
  // The window is part of the run: never more of a code than the server answered with it.
  EXPECT_GT(result.ok_calls(), 0);
  EXPECT_LE(result.ok_calls(), script.answered(grpc::StatusCode::OK) - 1);
  EXPECT_LE(result.errors().at("RESOURCE_EXHAUSTED"),
            script.answered(grpc::StatusCode::RESOURCE_EXHAUSTED));
  EXPECT_LE(result.errors().at("FAILED_PRECONDITION"),
            script.answered(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_NE(run->stderr_text.find("load_generator: first error: "), std::string::npos)
      << run->stderr_text;
}

TEST(LoadGeneratorScriptedTest, ReportsNoSuccessWhenEveryCallAfterTheProbeFails) {
  CallScript script([](int64_t call) {
    return call == 0 ? grpc::StatusCode::OK : grpc::StatusCode::UNIMPLEMENTED;
  });
  ScriptedBenchService service(&script);
  const std::optional<GeneratorRun> run = RunAgainst(&service, ShortRunOf("empty"));
  ASSERT_TRUE(run.has_value());
  const RunResult& result = *run->result;

  EXPECT_GT(result.calls(), 0);
  EXPECT_EQ(result.ok_calls(), 0);
  ASSERT_EQ(result.errors().size(), 1u);
  ASSERT_EQ(result.errors().count("UNIMPLEMENTED"), 1u);
  EXPECT_EQ(result.errors().at("UNIMPLEMENTED"), result.calls());
  EXPECT_LE(result.calls(), script.answered(grpc::StatusCode::UNIMPLEMENTED));
  EXPECT_EQ(result.qps(), 0);
  EXPECT_EQ(result.items_per_second(), 0);
  // CPU per call is per OK call: with none, there is no figure rather than a division by zero.
  EXPECT_TRUE(result.cpu_us_per_call().empty());
  // Failed calls are timed too.
  ExpectOrderedLatencies(result.latency());
  EXPECT_NE(run->stderr_text.find("load_generator: first error: UNIMPLEMENTED: scripted failure"),
            std::string::npos)
      << run->stderr_text;
}

TEST(LoadGeneratorScriptedTest, CountsTheReadsOfEveryBatchByOutcome) {
  // Of every four batches: two acknowledged, one INTERNAL (the reads may have been counted), one
  // INVALID_ARGUMENT (they were not).
  constexpr int kBatchSize = 10;
  CallScript script([](int64_t call) {
    switch (call % 4) {
      case 0:
      case 1:
        return grpc::StatusCode::OK;
      case 2:
        return grpc::StatusCode::INTERNAL;
      default:
        return grpc::StatusCode::INVALID_ARGUMENT;
    }
  });
  ReadLedger ledger;
  ScriptedAnalyticsService service(&script, &ledger);
  const std::optional<GeneratorRun> run =
      RunAgainst(&service, ShortRunOf("batch_record_reads", {"--batch_size=10"}));
  ASSERT_TRUE(run.has_value());
  const RunResult& result = *run->result;

  EXPECT_EQ(result.items_per_call(), kBatchSize);
  EXPECT_GT(result.ok_calls(), 0);
  ExpectConsistentCounts(result);  // items/s = 10 x calls/s
  EXPECT_EQ(result.errors().size(), 2u);
  // Over the whole run (probe, warm-up and drain too), exactly: every call had ended by exit.
  EXPECT_EQ(result.acknowledged_reads(), script.answered(grpc::StatusCode::OK) * kBatchSize);
  EXPECT_EQ(result.reads_with_unknown_outcome(),
            script.answered(grpc::StatusCode::INTERNAL) * kBatchSize);
  EXPECT_EQ(result.reads_queued(), 0);
  // Every read the server was sent carried a read id of its own: a repeated one would be counted
  // once by analytics-service and break scripts/bench's count check.
  EXPECT_GT(ledger.reads(), 0);
  EXPECT_EQ(ledger.distinct_read_ids(), ledger.reads());
}

// A ReadArticle answered without read_stats was only queued: the load generator counts those, from
// the response's bytes by default and from the decoded message with --decode.
void ExpectQueuedReadsCounted(bool decode) {
  ScriptedContentService service([](int64_t call) { return call % 3 == 1; });
  const std::optional<GeneratorRun> run = RunAgainst(
      &service, ShortRunOf("read_article", {decode ? "--decode=true" : "--decode=false"}));
  ASSERT_TRUE(run.has_value());
  const RunResult& result = *run->result;

  EXPECT_EQ(result.responses_decoded(), decode);
  EXPECT_TRUE(result.errors().empty());
  ExpectConsistentCounts(result);
  EXPECT_GT(service.answered_queued(), 0);
  EXPECT_EQ(result.acknowledged_reads(), service.answered());
  EXPECT_EQ(result.reads_queued(), service.answered_queued());
}

TEST(LoadGeneratorScriptedTest, CountsQueuedReadsFromUndecodedResponses) {
  ExpectQueuedReadsCounted(/*decode=*/false);
}

TEST(LoadGeneratorScriptedTest, CountsQueuedReadsFromDecodedResponses) {
  ExpectQueuedReadsCounted(/*decode=*/true);
}

// --article_skew reaches the requests: over 100 articles, bench-000000 takes 1% of the reads drawn
// evenly, and 1 / H(100) = 19% under a skew of 1 (article_popularity_test checks the shares
// closely; with 1000 reads or more, the bounds here are over 3 standard deviations wide).
TEST(LoadGeneratorScriptedTest, ArticleSkewMakesTheFirstArticleTheMostRead) {
  struct Case {
    const char* skew;
    double min_share;
    double max_share;
  };
  for (const Case& c : {Case{"0", 0, 0.03}, Case{"1", 0.15, 0.24}}) {
    CallScript script([](int64_t) { return grpc::StatusCode::OK; });
    ReadLedger ledger;
    ScriptedAnalyticsService service(&script, &ledger);
    const std::optional<GeneratorRun> run = RunAgainst(
        &service,
        ShortRunOf("batch_record_reads", {"--batch_size=100", "--articles=100", "--seed=7",
                                          std::string("--article_skew=") + c.skew}));
    ASSERT_TRUE(run.has_value()) << "skew " << c.skew;
    ASSERT_GE(ledger.reads(), 1000) << "skew " << c.skew;
    const double share = static_cast<double>(ledger.reads_of("articles/bench-000000")) /
                         static_cast<double>(ledger.reads());
    EXPECT_GE(share, c.min_share) << "skew " << c.skew;
    EXPECT_LE(share, c.max_share) << "skew " << c.skew;
  }
}

}  // namespace
}  // namespace newsroom::testing
