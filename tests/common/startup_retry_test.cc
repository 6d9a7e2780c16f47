#include "common/src/startup_retry.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace newsroom {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A store that answers UNAVAILABLE `unavailable` times, then `then`; and a clock that moves only
// when the retry pauses.
struct Scripted {
  int unavailable = 0;
  absl::Status then = absl::OkStatus();
  bool stop_on_pause = false;

  int attempts = 0;
  std::vector<absl::Duration> pauses;
  absl::Time clock = absl::FromUnixSeconds(1'000'000);

  absl::Status Run(const StartupRetry& retry) {
    return RetryWhileUnavailable(
        "the test store", retry,
        [&] {
          ++attempts;
          return attempts <= unavailable ? absl::UnavailableError("connection refused") : then;
        },
        [&](absl::Duration pause) {
          pauses.push_back(pause);
          clock += pause;
          return !stop_on_pause;
        },
        [&] { return clock; });
  }
};

TEST(RetryWhileUnavailableTest, AStoreThatAnswersIsTriedOnce) {
  Scripted store;
  EXPECT_TRUE(store.Run({}).ok());
  EXPECT_EQ(store.attempts, 1);
  EXPECT_TRUE(store.pauses.empty());
}

TEST(RetryWhileUnavailableTest, RetriesUntilTheStoreAnswersWithPausesThatDouble) {
  Scripted store{.unavailable = 3};
  EXPECT_TRUE(store.Run({}).ok());
  EXPECT_EQ(store.attempts, 4);
  EXPECT_THAT(store.pauses,
              ElementsAre(absl::Milliseconds(250), absl::Milliseconds(500), absl::Seconds(1)));
}

TEST(RetryWhileUnavailableTest, AnyOtherErrorIsReturnedAtOnce) {
  // A wrong password or a malformed address will not mend by waiting.
  Scripted store{.then = absl::PermissionDeniedError("WRONGPASS")};
  EXPECT_EQ(store.Run({}).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(store.attempts, 1);
  Scripted later{.unavailable = 1, .then = absl::InvalidArgumentError("bad")};
  EXPECT_EQ(later.Run({}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(later.attempts, 2);
}

TEST(RetryWhileUnavailableTest, GivesUpWhenTheWaitIsOverWithTheLastError) {
  Scripted store{.unavailable = 1000};
  const absl::Status status = store.Run({.wait = absl::Seconds(10)});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "connection refused");
  // Doubling up to the 4 s cap, the last pause cut to what is left of the wait.
  EXPECT_THAT(store.pauses,
              ElementsAre(absl::Milliseconds(250), absl::Milliseconds(500), absl::Seconds(1),
                          absl::Seconds(2), absl::Seconds(4), absl::Milliseconds(2250)));
  EXPECT_EQ(store.attempts, 7);
}

TEST(RetryWhileUnavailableTest, NoWaitMeansOneAttempt) {
  Scripted store{.unavailable = 1};
  EXPECT_EQ(store.Run({.wait = absl::ZeroDuration()}).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.attempts, 1);
  EXPECT_TRUE(store.pauses.empty());
}

TEST(RetryWhileUnavailableTest, TheProcessToldToStopStopsWaiting) {
  Scripted store{.unavailable = 1000, .stop_on_pause = true};
  const absl::Status status = store.Run({});
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(status.message(), HasSubstr("the test store"));
  EXPECT_THAT(status.message(), HasSubstr("connection refused"));
  EXPECT_EQ(store.attempts, 1);
}

}  // namespace
}  // namespace newsroom
