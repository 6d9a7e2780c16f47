// Both services configured through the environment, as Kubernetes manifests configure them: every
// flag has a variable, the command line wins over it, a typo'd or unparsable variable stops the
// start with a message naming it, and the service-link variables kubelet injects are ignored.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/build_paths.h"
#include "tests/support/process.h"

namespace newsroom::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// What kubelet injects for Services named content-service and analytics-service.
const std::vector<std::string> kServiceLinks = {
    "CONTENT_SERVICE_SERVICE_HOST=10.0.0.11",
    "CONTENT_SERVICE_SERVICE_PORT=50051",
    "CONTENT_SERVICE_SERVICE_PORT_GRPC=50051",
    "CONTENT_SERVICE_PORT=tcp://10.0.0.11:50051",
    "CONTENT_SERVICE_PORT_50051_TCP=tcp://10.0.0.11:50051",
    "CONTENT_SERVICE_PORT_50051_TCP_PROTO=tcp",
    "CONTENT_SERVICE_PORT_50051_TCP_PORT=50051",
    "CONTENT_SERVICE_PORT_50051_TCP_ADDR=10.0.0.11",
    "ANALYTICS_SERVICE_SERVICE_HOST=10.0.0.12",
    "ANALYTICS_SERVICE_SERVICE_PORT_GRPC=50052",
    "ANALYTICS_SERVICE_PORT=tcp://10.0.0.12:50052",
    "ANALYTICS_SERVICE_PORT_50052_TCP_ADDR=10.0.0.12",
};

struct Outcome {
  int exit_code = -1;
  std::string stderr_text;
  std::vector<std::string> stdout_lines;
};

// Runs `argv` with `env` added until it exits (10 s at most).
Outcome RunToExit(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  TempDir dir;
  const std::string stderr_path = dir.path() + "/stderr";
  ChildProcess process(argv, env, stderr_path);
  Outcome outcome;
  outcome.exit_code = process.Wait(std::chrono::seconds(10)).value_or(-1);
  outcome.stdout_lines = process.lines();
  std::ifstream file(stderr_path);
  outcome.stderr_text.assign(std::istreambuf_iterator<char>(file), {});
  return outcome;
}

std::vector<std::string> With(std::vector<std::string> env, const std::vector<std::string>& more) {
  env.insert(env.end(), more.begin(), more.end());
  return env;
}

TEST(EnvSettingsTest, AnUnknownVariableWithTheServicesPrefixStopsTheStart) {
  const Outcome content = RunToExit({build_paths::kContentService, "--db=:memory:"},
                                    With(kServiceLinks, {"CONTENT_SHUTDOWN_DRAN=3s"}));
  EXPECT_NE(content.exit_code, 0);
  EXPECT_THAT(content.stderr_text,
              AllOf(HasSubstr("unknown environment variable CONTENT_SHUTDOWN_DRAN (a typo?)"),
                    HasSubstr("CONTENT_SHUTDOWN_DRAIN, CONTENT_STARTUP_WAIT, CONTENT_STATS_FEED")));

  const Outcome analytics = RunToExit({build_paths::kAnalyticsService, "--redis=127.0.0.1:1"},
                                      With(kServiceLinks, {"ANALYTICS_REDIS_POOL_SZE=2"}));
  EXPECT_NE(analytics.exit_code, 0);
  EXPECT_THAT(analytics.stderr_text,
              AllOf(HasSubstr("unknown environment variable ANALYTICS_REDIS_POOL_SZE (a typo?)"),
                    HasSubstr("ANALYTICS_REDIS_POOL_SIZE")));
}

TEST(EnvSettingsTest, AnUnparsableValueStopsTheStartNamingTheVariable) {
  const Outcome content = RunToExit({build_paths::kContentService, "--db=:memory:"},
                                    {"CONTENT_SHUTDOWN_DRAIN=ten seconds"});
  EXPECT_NE(content.exit_code, 0);
  EXPECT_THAT(content.stderr_text, HasSubstr("env CONTENT_SHUTDOWN_DRAIN: "));

  // The variable reaches the flag, whose own check refuses the value.
  const Outcome bound =
      RunToExit({build_paths::kContentService, "--db=:memory:"}, {"CONTENT_MAX_IN_FLIGHT_CALLS=0"});
  EXPECT_NE(bound.exit_code, 0);
  EXPECT_THAT(bound.stderr_text, HasSubstr("--max_in_flight_calls: "));
  const Outcome bytes = RunToExit({build_paths::kContentService, "--db=:memory:"},
                                  {"CONTENT_MAX_RESPONSE_BYTES_IN_FLIGHT=1000"});
  EXPECT_NE(bytes.exit_code, 0);
  EXPECT_THAT(bytes.stderr_text,
              HasSubstr("--max_response_bytes_in_flight: must be between 1 MiB"));

  const Outcome analytics = RunToExit({build_paths::kAnalyticsService, "--redis=127.0.0.1:1"},
                                      {"ANALYTICS_MAX_CONNECTION_AGE=soon"});
  EXPECT_NE(analytics.exit_code, 0);
  EXPECT_THAT(analytics.stderr_text, HasSubstr("--max-connection-age: "));
}

TEST(EnvSettingsTest, TheCommandLineWinsAndServiceLinksAreIgnored) {
  // Each variable alone would stop the start (see above); the flags override them.
  TempDir dir;
  const std::string token_file = dir.path() + "/token";
  std::ofstream(token_file) << "a-token-of-at-least-16-bytes\n";
  StartedService content = StartService(
      build_paths::kContentService, {"--max-in-flight-calls=10", "--analytics=127.0.0.1:1"},
      With(kServiceLinks, {"CONTENT_LISTEN=nonsense", "CONTENT_MAX_IN_FLIGHT_CALLS=0",
                           "CONTENT_DB=:memory:", "EDITOR_TOKEN_FILE=" + token_file,
                           "CONTENT_SHUTDOWN_DRAIN=1s"}));
  EXPECT_GT(content.port, 0);

  RedisServer redis;
  StartedService analytics = StartService(
      build_paths::kAnalyticsService, {"--max-in-flight-calls=10", "--key-prefix=env-test:"},
      With(kServiceLinks, {"ANALYTICS_LISTEN=nonsense", "ANALYTICS_MAX_IN_FLIGHT_CALLS=0",
                           "REDIS_ADDR=" + redis.address(), "READER_HASH_KEY=env-test-key"}));
  EXPECT_GT(analytics.port, 0);
}

TEST(EnvSettingsTest, HelpShowsTheRealDefaultAndTheValueFromTheEnvironment) {
  const Outcome help = RunToExit({build_paths::kContentService, "--helpfull"},
                                 {"CONTENT_SHUTDOWN_DRAIN=3s", "CONTENT_DB=x.db"});
  // One line, single spaces: the help is wrapped at 80 columns.
  std::string text;
  for (const std::string& line : help.stdout_lines) {
    for (const char c : line) {
      if (c != ' ' || (!text.empty() && text.back() != ' ')) text += c;
    }
    if (!text.empty() && text.back() != ' ') text += ' ';
  }
  EXPECT_THAT(text, AllOf(HasSubstr("(env CONTENT_SHUTDOWN_DRAIN)); default: 10s; currently: 3s;"),
                          HasSubstr("default: \"newsroom-content.db\"; currently: \"x.db\";")));
}

}  // namespace
}  // namespace newsroom::testing
