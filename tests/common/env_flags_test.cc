#include "common/src/env_flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/time/time.h"

ABSL_FLAG(absl::Duration, env_test_drain, absl::Seconds(10), "drain (env TEST_DRAIN)");
ABSL_FLAG(std::string, env_test_addr, "127.0.0.1:1", "address (env OTHER_ADDR)");
ABSL_FLAG(int, env_test_help_without_env, 1, "help that forgets its variable");

namespace newsroom {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr EnvFlag kFlags[] = {{"TEST_DRAIN", "env_test_drain"}, {"OTHER_ADDR", "env_test_addr"}};
constexpr const char* kEnvOnly[] = {"TEST_SECRET"};
constexpr EnvSettings kSettings{.prefix = "TEST_", .flags = kFlags, .env_only = kEnvOnly};

TEST(IsKubernetesServiceLinkTest, MatchesWhatKubeletInjectsForAService) {
  // What kubelet sets for a Service `content-service` with port `grpc` 50051/TCP, and for
  // Services named `test` and `test-redis` with unnamed ports of each protocol.
  for (const char* name :
       {"CONTENT_SERVICE_SERVICE_HOST", "CONTENT_SERVICE_SERVICE_PORT",
        "CONTENT_SERVICE_SERVICE_PORT_GRPC", "CONTENT_SERVICE_SERVICE_PORT_GRPC_HEALTH",
        "CONTENT_SERVICE_PORT", "CONTENT_SERVICE_PORT_50051_TCP",
        "CONTENT_SERVICE_PORT_50051_TCP_PROTO", "CONTENT_SERVICE_PORT_50051_TCP_PORT",
        "CONTENT_SERVICE_PORT_50051_TCP_ADDR", "TEST_PORT", "TEST_SERVICE_HOST",
        "TEST_REDIS_PORT_6379_UDP_ADDR", "TEST_REDIS_PORT_9_SCTP", "ANALYTICS_PORT_50052_TCP"}) {
    EXPECT_TRUE(IsKubernetesServiceLink(name)) << name;
  }
}

TEST(IsKubernetesServiceLinkTest, LeavesSettingsAndNearMissesAlone) {
  for (const char* name :
       {"CONTENT_LISTEN", "CONTENT_SHUTDOWN_DRAIN", "CONTENT_SERVICE_HOSTNAME", "_PORT", "PORT",
        "SERVICE_HOST", "CONTENT_PORT_50051", "CONTENT_PORT_50051_TCP_HOST",
        "CONTENT_PORT_50051_ICMP", "CONTENT_PORT_X_TCP", "CONTENT_SERVICE_PORT_",
        "content_service_port", "CONTENT_PORTS", "1_PORT"}) {
    EXPECT_FALSE(IsKubernetesServiceLink(name)) << name;
  }
}

TEST(UnknownEnvNamesTest, ListsOnlyUnknownNamesWithThePrefix) {
  const Environment environment = {{"TEST_DRAIN", "1s"},         {"TEST_SECRET", "x"},
                                   {"TEST_DRIAN", "1s"},         {"TEST_SERVICE_PORT", "1"},
                                   {"TEST_ALSO_WRONG", ""},      {"OTHER_ADDR", "a:1"},
                                   {"OTHER_UNKNOWN", "ignored"}, {"PATH", "/bin"}};
  EXPECT_THAT(UnknownEnvNames(kSettings, environment),
              ElementsAre("TEST_ALSO_WRONG", "TEST_DRIAN"));
  EXPECT_THAT(UnknownEnvNames(kSettings, {{"TEST_DRAIN", "1s"}, {"PATH", "/bin"}}), IsEmpty());
}

TEST(ReadEnvironmentTest, SplitsAtTheFirstEquals) {
  char a[] = "A=1=2";
  char b[] = "B=";
  char c[] = "NOEQUALS";
  char* envp[] = {a, b, c, nullptr};
  EXPECT_EQ(ReadEnvironment(envp), (Environment{{"A", "1=2"}, {"B", ""}}));
}

TEST(ApplyEnvironmentTest, SetsFlagsButNotTheirDefaults) {
  absl::FlagSaver saver;
  ASSERT_TRUE(
      ApplyEnvironment(kSettings, {{"TEST_DRAIN", "3s"}, {"OTHER_ADDR", "10.0.0.1:2"}}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_env_test_drain), absl::Seconds(3));
  EXPECT_EQ(absl::GetFlag(FLAGS_env_test_addr), "10.0.0.1:2");
  // --help shows the default, which must stay the program's own.
  EXPECT_EQ(absl::FindCommandLineFlag("env_test_drain")->DefaultValue(), "10s");
}

TEST(ApplyEnvironmentTest, AnEmptyValueMeansUnset) {
  absl::FlagSaver saver;
  ASSERT_TRUE(ApplyEnvironment(kSettings, {{"TEST_DRAIN", ""}}).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_env_test_drain), absl::Seconds(10));
}

TEST(ApplyEnvironmentTest, AnUnparsableValueNamesTheVariable) {
  absl::FlagSaver saver;
  const absl::Status status = ApplyEnvironment(kSettings, {{"TEST_DRAIN", "ten seconds"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("env TEST_DRAIN: "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("ten seconds"));
}

TEST(ApplyEnvironmentTest, RefusesUnknownNamesListingTheKnownOnes) {
  absl::FlagSaver saver;
  const absl::Status status = ApplyEnvironment(
      kSettings, {{"TEST_DRIAN", "1s"}, {"TEST_SERVICE_PORT_GRPC", "50051"}, {"TEST_DRAIN", "2s"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("unknown environment variable TEST_DRIAN "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("OTHER_ADDR, TEST_DRAIN, TEST_SECRET"));
  EXPECT_THAT(std::string(status.message()), ::testing::Not(HasSubstr("TEST_SERVICE_PORT_GRPC")));
  // Nothing is applied from an environment that is refused.
  EXPECT_EQ(absl::GetFlag(FLAGS_env_test_drain), absl::Seconds(10));
}

TEST(CheckEnvSettingsTest, AcceptsATableThatResolves) {
  EXPECT_TRUE(CheckEnvSettings(kSettings).ok());
}

TEST(CheckEnvSettingsTest, RefusesAMissingFlagAHelpWithoutItsVariableAndDuplicates) {
  const struct {
    EnvFlag entries[2];
    const char* message;
  } cases[] = {
      {{{"TEST_DRAIN", "env_test_drain"}, {"TEST_GONE", "no_such_flag_anywhere"}},
       "TEST_GONE names --no_such_flag_anywhere, no such flag"},
      {{{"TEST_DRAIN", "env_test_drain"}, {"TEST_HELP", "env_test_help_without_env"}},
       "must end with \"(env TEST_HELP)\""},
      {{{"TEST_DRAIN", "env_test_drain"}, {"TEST_DRAIN", "env_test_addr"}}, "listed twice"},
      {{{"TEST_DRAIN", "env_test_drain"}, {"OTHER_ADDR", "env_test_drain"}}, "listed twice"},
  };
  for (const auto& c : cases) {
    const EnvSettings settings{.prefix = "TEST_", .flags = c.entries};
    const absl::Status status = CheckEnvSettings(settings);
    EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << c.message;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message));
    // Startup fails the same way, before any flag is set.
    EXPECT_EQ(ApplyEnvironment(settings, {}).code(), absl::StatusCode::kInternal) << c.message;
  }
}

}  // namespace
}  // namespace newsroom
