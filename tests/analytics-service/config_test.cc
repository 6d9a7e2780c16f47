#include "analytics-service/src/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <utility>

#include "tests/support/process.h"

namespace newsroom::analytics {
namespace {

using ::testing::StartsWith;

RawConfig Defaults() {
  return RawConfig{.listen = "127.0.0.1:50052",
                   .redis = "127.0.0.1:6379",
                   .key_prefix = "newsroom:",
                   .redis_pool_size = "4",
                   .redis_timeout = "1s",
                   .health_check_interval = "500ms",
                   .shutdown_drain = "10s"};
}

TEST(ConfigTest, ParsesDefaults) {
  absl::StatusOr<Config> config = ParseConfig(Defaults());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen_address, "127.0.0.1:50052");
  EXPECT_EQ(config->redis.host, "127.0.0.1");
  EXPECT_EQ(config->redis.port, 6379);
  EXPECT_EQ(config->redis_pool_size, 4);
  EXPECT_EQ(config->redis_timeout, absl::Seconds(1));
  EXPECT_EQ(config->health_check_interval, absl::Milliseconds(500));
  EXPECT_EQ(config->shutdown_drain, absl::Seconds(10));
  EXPECT_EQ(config->max_connection_age, absl::Minutes(5));
  EXPECT_EQ(config->reader_hash_key, "");
  EXPECT_EQ(config->dedup_window, absl::Hours(48));
  EXPECT_EQ(config->startup_wait, absl::Seconds(30));
}

TEST(ConfigTest, DedupWindowFromAMinuteTo30DaysInWholeSeconds) {
  for (const auto& [given, expected] :
       {std::pair{"1m", absl::Minutes(1)}, std::pair{"6h", absl::Hours(6)},
        std::pair{"720h", absl::Hours(720)}}) {
    RawConfig raw = Defaults();
    raw.dedup_window = given;
    absl::StatusOr<Config> config = ParseConfig(raw);
    ASSERT_TRUE(config.ok()) << given << ": " << config.status();
    EXPECT_EQ(config->dedup_window, expected);
  }
}

TEST(ConfigTest, MaxConnectionAgeMayBeInfinite) {
  RawConfig raw = Defaults();
  raw.max_connection_age = "inf";
  absl::StatusOr<Config> config = ParseConfig(raw);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->max_connection_age, absl::InfiniteDuration());
}

TEST(ConfigTest, RejectsBadValuesNamingTheFlag) {
  const struct {
    std::function<void(RawConfig&)> mutate;
    std::string prefix;
  } cases[] = {
      {[](auto& c) { c.listen = "nowhere"; }, "--listen: "},
      {[](auto& c) { c.redis = "localhost"; }, "--redis: "},
      {[](auto& c) { c.redis = "localhost:0"; }, "--redis: "},
      {[](auto& c) { c.key_prefix = "a b"; }, "--key-prefix: "},
      {[](auto& c) { c.redis_pool_size = "0"; }, "--redis-pool-size: "},
      {[](auto& c) { c.redis_pool_size = "many"; }, "--redis-pool-size: "},
      {[](auto& c) { c.redis_timeout = "0s"; }, "--redis-timeout: "},
      {[](auto& c) { c.redis_timeout = "soon"; }, "--redis-timeout: "},
      {[](auto& c) { c.health_check_interval = "-1s"; }, "--health-check-interval: "},
      {[](auto& c) { c.shutdown_drain = "inf"; }, "--shutdown-drain: "},
      {[](auto& c) { c.max_connection_age = "0s"; }, "--max-connection-age: "},
      {[](auto& c) { c.max_connection_age = "often"; }, "--max-connection-age: "},
      {[](auto& c) { c.reader_hash_key_file = "/nonexistent/key"; }, "--reader-hash-key-file: "},
      {[](auto& c) { c.dedup_window = "59s"; }, "--dedup-window: "},
      {[](auto& c) { c.dedup_window = "721h"; }, "--dedup-window: "},
      {[](auto& c) { c.dedup_window = "90.5s"; }, "--dedup-window: "},
      {[](auto& c) { c.dedup_window = "inf"; }, "--dedup-window: "},
      {[](auto& c) { c.dedup_window = "forever"; }, "--dedup-window: "},
      {[](auto& c) { c.startup_wait = "inf"; }, "--startup-wait: "},
      {[](auto& c) { c.startup_wait = "-1s"; }, "--startup-wait: "},
      {[](auto& c) { c.startup_wait = "a while"; }, "--startup-wait: "},
  };
  for (const auto& c : cases) {
    RawConfig raw = Defaults();
    c.mutate(raw);
    absl::StatusOr<Config> config = ParseConfig(raw);
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument) << c.prefix;
    EXPECT_THAT(std::string(config.status().message()), StartsWith(c.prefix));
  }
}

TEST(ConfigTest, ReadsTheHashKeyFileWithoutTrailingNewline) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/key";
  std::ofstream(path) << "s3cret\n";
  RawConfig raw = Defaults();
  raw.reader_hash_key = "from-env";
  raw.reader_hash_key_file = path;
  absl::StatusOr<Config> config = ParseConfig(raw);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->reader_hash_key, "s3cret");
  raw.shutdown_drain = "0s";  // no drain is allowed
  raw.startup_wait = "0s";    // nor a wait: one attempt
  EXPECT_TRUE(ParseConfig(raw).ok());
}

}  // namespace
}  // namespace newsroom::analytics
