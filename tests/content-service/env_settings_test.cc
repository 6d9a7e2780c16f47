// content-service's environment table: complete, resolvable, and applied as main() applies it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "content-service/src/config.h"
#include "tests/support/env_settings_checks.h"

namespace newsroom::content {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(ContentEnvSettingsTest, EveryEntryNamesAFlagWhoseHelpNamesTheVariable) {
  const absl::Status status = CheckEnvSettings(ContentEnvSettings());
  EXPECT_TRUE(status.ok()) << status;
}

TEST(ContentEnvSettingsTest, EveryFlagHasAVariable) {
  EXPECT_THAT(testing::FlagsWithoutEnvVar(ContentEnvSettings(), "content-service/src/"), IsEmpty());
}

TEST(ContentEnvSettingsTest, NewVariablesTakeThePrefixAndOldOnesKeepTheirNames) {
  for (const EnvFlag& entry : ContentEnvSettings().flags) {
    const absl::string_view env = entry.env;
    EXPECT_TRUE(absl::StartsWith(env, "CONTENT_") || env == "ANALYTICS_ADDR" ||
                env == "EDITOR_TOKEN_FILE")
        << env;
  }
}

TEST(ContentEnvSettingsTest, TheEnvironmentReachesTheConfigAndBadNamesOrValuesAreRefused) {
  absl::FlagSaver saver;
  ASSERT_TRUE(
      ApplyEnvironment(ContentEnvSettings(), {{"CONTENT_SHUTDOWN_DRAIN", "3s"},
                                              {"CONTENT_MAX_CONNECTION_AGE", "90s"},
                                              {"CONTENT_DB", ":memory:"},
                                              {"CONTENT_SERVICE_PORT_50051_TCP_ADDR", "10.0.0.7"}})
          .ok());
  const absl::StatusOr<ContentConfig> config = ContentConfigFromFlags();
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->shutdown_drain, absl::Seconds(3));
  EXPECT_EQ(config->max_connection_age, absl::Seconds(90));
  EXPECT_EQ(config->db_path, ":memory:");
  EXPECT_EQ(absl::FindCommandLineFlag("shutdown_drain")->DefaultValue(), "10s");

  const absl::Status bad =
      ApplyEnvironment(ContentEnvSettings(), {{"CONTENT_SHUTDOWN_DRAIN", "ten"}});
  EXPECT_THAT(std::string(bad.message()), HasSubstr("env CONTENT_SHUTDOWN_DRAIN: "));
  const absl::Status typo =
      ApplyEnvironment(ContentEnvSettings(), {{"CONTENT_SHUTDOWN_DRAN", "3s"}});
  EXPECT_THAT(std::string(typo.message()), HasSubstr("CONTENT_SHUTDOWN_DRAN"));
  EXPECT_THAT(std::string(typo.message()), HasSubstr("EDITOR_TOKEN, EDITOR_TOKEN_FILE"));
}

TEST(ContentEnvSettingsTest, TheStartupWaitIsFiniteAndNotNegative) {
  absl::FlagSaver saver;
  EXPECT_EQ(absl::FindCommandLineFlag("startup_wait")->DefaultValue(), "30s");
  ASSERT_TRUE(ApplyEnvironment(ContentEnvSettings(), {{"CONTENT_STARTUP_WAIT", "0s"}}).ok());
  const absl::StatusOr<ContentConfig> none = ContentConfigFromFlags();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->startup_wait, absl::ZeroDuration());
  for (const char* bad : {"-1s", "inf"}) {
    ASSERT_TRUE(ApplyEnvironment(ContentEnvSettings(), {{"CONTENT_STARTUP_WAIT", bad}}).ok());
    const absl::StatusOr<ContentConfig> config = ContentConfigFromFlags();
    EXPECT_THAT(std::string(config.status().message()), HasSubstr("--startup_wait: ")) << bad;
  }
}

}  // namespace
}  // namespace newsroom::content
