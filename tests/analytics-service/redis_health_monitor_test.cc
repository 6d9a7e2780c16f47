// RedisHealthMonitor against a real redis-server: it reports health changes and Redis's memory
// use (what an operator watches to see maxmemory coming), and parses INFO memory strictly.

#include "analytics-service/src/redis_health_monitor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "tests/support/process.h"
#include "tests/support/waiting.h"

namespace newsroom::analytics {
namespace {

using ::newsroom::testing::Eventually;
using ::newsroom::testing::RedisServer;
using ::newsroom::testing::RedisServerOptions;

TEST(ParseRedisMemoryTest, ReadsUsedMemoryAndMaxmemoryFromInfo) {
  absl::StatusOr<RedisMemory> memory = ParseRedisMemory(
      "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nused_memory_rss:9\r\n"
      "maxmemory:402653184\r\nmaxmemory_human:384.00M\r\nmaxmemory_policy:noeviction\r\n");
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_EQ(memory->used_bytes, 1048576);
  EXPECT_EQ(memory->max_bytes, 402653184);
}

TEST(ParseRedisMemoryTest, RefusesInfoWithoutBothNumbers) {
  for (const char* info :
       {"", "used_memory:10\r\n", "maxmemory:0\r\n", "used_memory:ten\r\nmaxmemory:0\r\n",
        "used_memory:-1\r\nmaxmemory:0\r\n"}) {
    EXPECT_EQ(ParseRedisMemory(info).status().code(), absl::StatusCode::kInternal) << info;
  }
}

class RedisHealthMonitorTest : public ::testing::Test {
 protected:
  RedisHealthMonitorTest() : redis_(/*append_only=*/false), admin_(ConnectionOptions()) {}

  RedisConnectionOptions ConnectionOptions() const {
    RedisConnectionOptions options;
    options.port = redis_.port();
    return options;
  }

  std::optional<RedisMemory> LastMemory() {
    absl::MutexLock lock(&mu_);
    return last_memory_;
  }

  RedisServer redis_;
  RedisConnection admin_;
  absl::Mutex mu_;
  std::optional<RedisMemory> last_memory_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> memory_reports_{0};
};

TEST_F(RedisHealthMonitorTest, ReportsRedisMemoryAgainstItsMaxmemory) {
  ASSERT_TRUE(admin_.Run({"CONFIG", "SET", "maxmemory", "64mb"}).ok());
  std::atomic<int> changes{0};
  {
    RedisHealthMonitor monitor(
        RedisHealthMonitorOptions{.connection = ConnectionOptions(),
                                  .interval = absl::Milliseconds(20),
                                  .on_memory =
                                      [this](RedisMemory memory) {
                                        absl::MutexLock lock(&mu_);
                                        last_memory_ = memory;
                                        ++memory_reports_;
                                      },
                                  .memory_interval = absl::Milliseconds(200)},
        [&changes](bool) { ++changes; });
    ASSERT_TRUE(Eventually([&] { return LastMemory().has_value(); }));
    EXPECT_EQ(LastMemory()->max_bytes, 64 << 20);
    EXPECT_GT(LastMemory()->used_bytes, 0);

    // A megabyte stored shows in the next report.
    const std::int64_t before = LastMemory()->used_bytes;
    ASSERT_TRUE(admin_.Run({"SET", "big", std::string(1 << 20, 'x')}).ok());
    EXPECT_TRUE(Eventually([&] { return LastMemory()->used_bytes >= before + (1 << 20); }));
    // At most once per memory_interval (200 ms), though the PINGs come every 20 ms: the bound
    // follows the time that really passed, so a slow machine cannot break it.
    const absl::Time from = absl::Now();
    const int reports = memory_reports_;
    absl::SleepFor(absl::Milliseconds(300));
    const int reported = memory_reports_ - reports;
    EXPECT_LE(reported, (absl::Now() - from) / absl::Milliseconds(200) + 1);
  }
  EXPECT_EQ(changes, 0) << "Redis stayed healthy";
}

// How many times Redis's ACL LOG says INFO was refused (one entry per user and command, with a
// count).
std::int64_t RefusedInfoCount(RedisConnection& admin) {
  absl::StatusOr<RedisReply> log = admin.Run({"ACL", "LOG"});
  if (!log.ok() || (*log)->type != REDIS_REPLY_ARRAY) return 0;
  std::int64_t refused = 0;
  for (std::size_t i = 0; i < (*log)->elements; ++i) {
    const redisReply* entry = (*log)->element[i];
    std::int64_t count = 0;
    bool info = false;
    for (std::size_t f = 0; f + 1 < entry->elements; f += 2) {
      const std::string field(entry->element[f]->str, entry->element[f]->len);
      const redisReply* value = entry->element[f + 1];
      if (field == "count" && value->type == REDIS_REPLY_INTEGER) count = value->integer;
      if (field == "object" && value->type == REDIS_REPLY_STRING) {
        info = std::string(value->str, value->len) == "info";
      }
    }
    if (info) refused += count;
  }
  return refused;
}

// An ACL user without INFO (a rule from before it was added): no report, and health untouched.
TEST(RedisHealthMonitorAclTest, AUserWithoutInfoGetsNoReportAndStaysHealthy) {
  RedisServer redis(RedisServerOptions{
      .append_only = false,
      .acl_rules = {"user default off", "user monitor on >monitor-password ~* -@all +ping",
                    "user admin on >admin-password ~* &* +@all"},
  });
  RedisConnectionOptions connection;
  connection.port = redis.port();
  connection.user = "monitor";
  connection.password = "monitor-password";
  std::atomic<int> reports{0};
  std::atomic<int> changes{0};
  {
    RedisHealthMonitor monitor(
        RedisHealthMonitorOptions{.connection = connection,
                                  .interval = absl::Milliseconds(20),
                                  .on_memory = [&reports](RedisMemory) { ++reports; },
                                  .memory_interval = absl::Milliseconds(20)},
        [&changes](bool) { ++changes; });
    // Redis's ACL LOG counts the refusals: wait until INFO has been refused three times.
    RedisConnectionOptions admin_options = connection;
    admin_options.user = "admin";
    admin_options.password = "admin-password";
    RedisConnection admin(admin_options);
    ASSERT_TRUE(Eventually([&] { return RefusedInfoCount(admin) >= 3; }));
  }
  EXPECT_EQ(reports, 0);
  EXPECT_EQ(changes, 0) << "a refused INFO is no reason to turn NOT_SERVING";
}

}  // namespace
}  // namespace newsroom::analytics
