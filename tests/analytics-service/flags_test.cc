// analytics-service's environment table: complete, resolvable, and applied as main() applies it.

#include "analytics-service/src/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "tests/support/env_settings_checks.h"

namespace newsroom::analytics {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(AnalyticsEnvSettingsTest, EveryEntryNamesAFlagWhoseHelpNamesTheVariable) {
  const absl::Status status = CheckEnvSettings(AnalyticsEnvSettings());
  EXPECT_TRUE(status.ok()) << status;
}

TEST(AnalyticsEnvSettingsTest, EveryFlagHasAVariable) {
  EXPECT_THAT(testing::FlagsWithoutEnvVar(AnalyticsEnvSettings(), "analytics-service/src/"),
              IsEmpty());
}

TEST(AnalyticsEnvSettingsTest, NewVariablesTakeThePrefixAndOldOnesKeepTheirNames) {
  for (const EnvFlag& entry : AnalyticsEnvSettings().flags) {
    const absl::string_view env = entry.env;
    EXPECT_TRUE(absl::StartsWith(env, "ANALYTICS_") || absl::StartsWith(env, "REDIS_") ||
                env == "READER_HASH_KEY_FILE")
        << env;
  }
}

TEST(AnalyticsEnvSettingsTest, TheEnvironmentReachesTheConfigAndUnknownNamesAreRefused) {
  absl::FlagSaver saver;
  ASSERT_TRUE(
      ApplyEnvironment(AnalyticsEnvSettings(), {{"ANALYTICS_MAX_CONNECTION_AGE", "90s"},
                                                {"ANALYTICS_SHUTDOWN_DRAIN", "3s"},
                                                {"ANALYTICS_SERVICE_SERVICE_PORT_GRPC", "50052"}})
          .ok());
  const absl::StatusOr<Config> config = ParseConfig(RawConfigFromFlags());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->max_connection_age, absl::Seconds(90));
  EXPECT_EQ(config->shutdown_drain, absl::Seconds(3));
  EXPECT_EQ(absl::FindCommandLineFlag("max_connection_age")->DefaultValue(), "5m");

  const absl::Status typo =
      ApplyEnvironment(AnalyticsEnvSettings(), {{"ANALYTICS_MAX_CONECTION_AGE", "1m"}});
  EXPECT_THAT(std::string(typo.message()), HasSubstr("ANALYTICS_MAX_CONECTION_AGE"));
  EXPECT_THAT(std::string(typo.message()), HasSubstr("READER_HASH_KEY, READER_HASH_KEY_FILE"));
}

}  // namespace
}  // namespace newsroom::analytics
