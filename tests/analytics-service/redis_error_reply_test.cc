// How an error reply from Redis is classified: its kind (the metric's label and the log throttle's
// key) and the status callers get, which decides whether they retry.

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>

#include "analytics-service/src/redis_connection.h"

namespace newsroom::analytics {
namespace {

redisReply ErrorReply(std::string& text) {
  redisReply reply{};
  reply.type = REDIS_REPLY_ERROR;
  reply.str = text.data();
  reply.len = text.size();
  return reply;
}

struct Case {
  std::string text;
  absl::string_view kind;
  absl::StatusCode code;
};

TEST(RedisErrorReplyTest, KindAndStatusFollowTheFirstWord) {
  const Case cases[] = {
      {"OOM command not allowed when used memory > 'maxmemory'.", "oom",
       absl::StatusCode::kUnavailable},
      {"NOPERM this user has no permissions to run the 'info' command", "noperm",
       absl::StatusCode::kUnavailable},
      {"NOAUTH Authentication required.", "noauth", absl::StatusCode::kUnavailable},
      {"LOADING Redis is loading the dataset in memory", "loading", absl::StatusCode::kUnavailable},
      {"BUSY Redis is busy running a script.", "busy", absl::StatusCode::kUnavailable},
      {"READONLY You can't write against a read only replica.", "readonly",
       absl::StatusCode::kUnavailable},
      {"MASTERDOWN Link with MASTER is down", "masterdown", absl::StatusCode::kUnavailable},
      {"TRYAGAIN Multiple keys request during rehashing of slot", "tryagain",
       absl::StatusCode::kUnavailable},
      {"CLUSTERDOWN The cluster is down", "clusterdown", absl::StatusCode::kUnavailable},
      {"WRONGTYPE Operation against a key holding the wrong kind of value", "wrongtype",
       absl::StatusCode::kInternal},
      {"NOSCRIPT No matching script. Please use EVAL.", "noscript", absl::StatusCode::kInternal},
      {"ERR record script: KEYS and ARGV do not match", "err", absl::StatusCode::kInternal},
      // The ACL refusing a command inside a script: NOPERM in all but its first word.
      {"ERR The user executing the script can't run this command or subcommand script: "
       "337a7d7f2a196f808de59389ff8c5f14f3058ce2, on @user_script:14.",
       "noperm", absl::StatusCode::kUnavailable},
      {"ERR The user executing the script can't access at least one of the keys mentioned in "
       "the command",
       "noperm", absl::StatusCode::kUnavailable},
      {"ERR ACL failure in script: this user has no permissions to run the 'pfadd' command",
       "noperm", absl::StatusCode::kUnavailable},
      {"ERR user_script:1: Script attempted to access nonexistent global variable 'x'", "err",
       absl::StatusCode::kInternal},
      {"user_script:12: attempt to compare nil with number", "other", absl::StatusCode::kInternal},
      // A word that merely starts like a transient one is not one: BUSYKEY is RESTORE's.
      {"BUSYKEY Target key name already exists.", "other", absl::StatusCode::kInternal},
      {"OOMPH", "other", absl::StatusCode::kInternal},
      {"", "other", absl::StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    std::string text = c.text;
    const redisReply reply = ErrorReply(text);
    EXPECT_EQ(kErrorReplyKinds[ErrorReplyKind(reply)], c.kind) << c.text;
    EXPECT_EQ(ErrorReplyStatus(reply).code(), c.code) << c.text;
  }
}

TEST(RedisErrorReplyTest, KindsAreDistinctLabelValues) {
  for (std::size_t i = 0; i < std::size(kErrorReplyKinds); ++i) {
    for (std::size_t j = i + 1; j < std::size(kErrorReplyKinds); ++j) {
      EXPECT_NE(kErrorReplyKinds[i], kErrorReplyKinds[j]);
    }
  }
  EXPECT_EQ(kErrorReplyKinds[std::size(kErrorReplyKinds) - 1], "other");
  EXPECT_EQ(kErrorReplyKinds[kTransientErrorReplyKinds - 1], "clusterdown");
}

}  // namespace
}  // namespace newsroom::analytics
