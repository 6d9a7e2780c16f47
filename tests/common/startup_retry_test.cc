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

// A store that answers UNAVAILABLE `unavailable` times, then `then`; a clock that moves only when
// the retry pauses; and a stop signal that comes during a pause or during an attempt.
struct Scripted {
  int unavailable = 0;
  absl::Status then = absl::OkStatus();
  bool stop_during_pause = false;
  bool stop_during_attempt = false;

  int attempts = 0;
  std::vector<absl::Duration> pauses;  // the real ones
  int looks = 0;                       // pauses of zero: a look for a signal
  absl::Time clock = absl::FromUnixSeconds(1'000'000);

  absl::Status Run(const StartupRetry& retry) {
    return RetryWhileUnavailable(
        "the test store", retry,
        [&] {
          ++attempts;
          return attempts <= unavailable ? absl::UnavailableError("connection refused") : then;
        },
        [&](absl::Duration pause) {
          if (pause == absl::ZeroDuration()) {
            ++looks;
            return !stop_during_attempt;
          }
          pauses.push_back(pause);
          clock += pause;
          return !stop_during_pause;
        },
        [&] { return clock; });
  }
};

TEST(RetryWhileUnavailableTest, AStoreThatAnswersIsTriedOnce) {
  Scripted store;
  EXPECT_TRUE(store.Run({}).ok());
  EXPECT_EQ(store.attempts, 1);
  EXPECT_TRUE(store.pauses.empty());
  EXPECT_EQ(store.looks, 0);
}

TEST(RetryWhileUnavailableTest, RetriesUntilTheStoreAnswersWithPausesThatDouble) {
  Scripted store{.unavailable = 3};
  EXPECT_TRUE(store.Run({}).ok());
  EXPECT_EQ(store.attempts, 4);
  EXPECT_THAT(store.pauses,
              ElementsAre(absl::Milliseconds(250), absl::Milliseconds(500), absl::Seconds(1)));
}

TEST(RetryWhileUnavailableTest, AnyOtherErrorIsReturnedAtOnce) {
  // A malformed address or an internal error will not mend by waiting.
  Scripted store{.then = absl::InvalidArgumentError("bad address")};
  EXPECT_EQ(store.Run({}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store.attempts, 1);
  Scripted later{.unavailable = 1, .then = absl::InternalError("odd reply")};
  EXPECT_EQ(later.Run({}).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(later.attempts, 2);
  EXPECT_THAT(later.pauses, ElementsAre(absl::Milliseconds(250)));
}

TEST(RetryWhileUnavailableTest, AStoreThatRefusedTheServiceIsNotWaitedFor) {
  // A wrong password: UNAVAILABLE to callers while running, but not worth waiting for at start.
  Scripted store{.then = RefusedByStore(absl::UnavailableError("WRONGPASS"))};
  const absl::Status status = store.Run({});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "WRONGPASS");
  EXPECT_TRUE(IsRefusedByStore(status));
  EXPECT_EQ(store.attempts, 1);
  EXPECT_TRUE(store.pauses.empty());

  EXPECT_FALSE(IsRefusedByStore(absl::UnavailableError("connection refused")));
  EXPECT_TRUE(RefusedByStore(absl::OkStatus()).ok());
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
  EXPECT_EQ(store.looks, 1);
}

TEST(RetryWhileUnavailableTest, NoWaitMeansOneAttempt) {
  Scripted store{.unavailable = 1};
  EXPECT_EQ(store.Run({.wait = absl::ZeroDuration()}).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.attempts, 1);
  EXPECT_TRUE(store.pauses.empty());
}

TEST(RetryWhileUnavailableTest, TheProcessToldToStopStopsWaiting) {
  Scripted store{.unavailable = 1000, .stop_during_pause = true};
  const absl::Status status = store.Run({});
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(status.message(), HasSubstr("the test store"));
  EXPECT_THAT(status.message(), HasSubstr("connection refused"));
  EXPECT_EQ(store.attempts, 1);
}

TEST(RetryWhileUnavailableTest, AStopDuringTheLastAttemptIsAStopNotAFailure) {
  Scripted store{.unavailable = 1000, .stop_during_attempt = true};
  EXPECT_EQ(store.Run({.wait = absl::ZeroDuration()}).code(), absl::StatusCode::kCancelled);
  Scripted refused{.then = RefusedByStore(absl::UnavailableError("WRONGPASS")),
                   .stop_during_attempt = true};
  EXPECT_EQ(refused.Run({}).code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace newsroom
