#include "content-service/src/callbacks_in_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <thread>
#include <utility>

namespace newsroom::content {
namespace {

TEST(CallbacksInFlightTest, NoneHeldMeansNoWait) {
  CallbacksInFlight callbacks;
  EXPECT_TRUE(callbacks.WaitUntilNone(absl::ZeroDuration()));
}

TEST(CallbacksInFlightTest, AHeldCallbackKeepsTheWaitOpenUntilReleased) {
  CallbacksInFlight callbacks;
  std::optional<CallbacksInFlight::Hold> hold(callbacks.Acquire());
  EXPECT_EQ(callbacks.count(), 1);
  EXPECT_FALSE(callbacks.WaitUntilNone(absl::Milliseconds(10)));

  // Released on another thread, as a gRPC callback would be: the wait ends then, not before.
  std::atomic<bool> released{false};
  std::thread callback([&] {
    absl::SleepFor(absl::Milliseconds(20));
    released = true;
    hold.reset();
  });
  EXPECT_TRUE(callbacks.WaitUntilNone(absl::Seconds(30)));
  EXPECT_TRUE(released);
  callback.join();
  EXPECT_EQ(callbacks.count(), 0);
}

TEST(CallbacksInFlightTest, AMovedHoldIsReleasedOnce) {
  CallbacksInFlight callbacks;
  {
    CallbacksInFlight::Hold first = callbacks.Acquire();
    CallbacksInFlight::Hold second = std::move(first);
    EXPECT_EQ(callbacks.count(), 1);
  }
  EXPECT_EQ(callbacks.count(), 0);
  EXPECT_TRUE(callbacks.WaitUntilNone(absl::ZeroDuration()));
}

}  // namespace
}  // namespace newsroom::content
