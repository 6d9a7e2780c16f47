#include "common/src/memory_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace newsroom {
namespace {

TEST(MemoryBudgetTest, AdmitsUpToItsBoundAndRefusesPastIt) {
  MemoryBudget budget(1000);
  std::optional<MemoryBudget::Grant> first = budget.TryAcquire(600);
  ASSERT_TRUE(first.has_value());
  std::optional<MemoryBudget::Grant> second = budget.TryAcquire(400);  // exactly the bound
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(budget.in_use(), 1000);
  EXPECT_FALSE(budget.TryAcquire(1).has_value());
  EXPECT_EQ(budget.in_use(), 1000) << "a refusal holds nothing";
}

TEST(MemoryBudgetTest, ReleasedBytesAreAdmittedAgain) {
  MemoryBudget budget(1000);
  std::optional<MemoryBudget::Grant> held = budget.TryAcquire(900);
  ASSERT_TRUE(held.has_value());
  EXPECT_FALSE(budget.TryAcquire(200).has_value());
  held->Release();
  held->Release();  // once only
  EXPECT_EQ(budget.in_use(), 0);
  {
    std::optional<MemoryBudget::Grant> scoped = budget.TryAcquire(200);
    ASSERT_TRUE(scoped.has_value());
    EXPECT_EQ(budget.in_use(), 200);
  }
  EXPECT_EQ(budget.in_use(), 0) << "a destroyed grant returns its bytes";
}

TEST(MemoryBudgetTest, OneCallLargerThanTheBudgetIsServedAlone) {
  MemoryBudget budget(1000);
  std::optional<MemoryBudget::Grant> large = budget.TryAcquire(5000);
  ASSERT_TRUE(large.has_value()) << "nothing else in flight";
  EXPECT_FALSE(budget.TryAcquire(1).has_value()) << "nothing beside it";
  large.reset();
  std::optional<MemoryBudget::Grant> small = budget.TryAcquire(10);
  ASSERT_TRUE(small.has_value());
  EXPECT_FALSE(budget.TryAcquire(5000).has_value()) << "not beside another call";
}

TEST(MemoryBudgetTest, AGrantMovesItsBytesAndAnEmptyGrantHoldsNone) {
  MemoryBudget budget(1000);
  MemoryBudget::Grant empty;
  EXPECT_EQ(empty.bytes(), 0);
  MemoryBudget::Grant moved_to;
  {
    std::optional<MemoryBudget::Grant> granted = budget.TryAcquire(300);
    ASSERT_TRUE(granted.has_value());
    moved_to = std::move(*granted);
    EXPECT_EQ(granted->bytes(), 0);
  }
  EXPECT_EQ(moved_to.bytes(), 300);
  EXPECT_EQ(budget.in_use(), 300) << "the moved-from grant returned nothing";
  moved_to = MemoryBudget::Grant();
  EXPECT_EQ(budget.in_use(), 0) << "assigning over a grant returns its bytes";
}

// A response built in rounds grows one grant, which returns all of it; its own bytes never count
// against its growth.
TEST(MemoryBudgetTest, AGrantGrowsWhileItFitsOrIsAlone) {
  MemoryBudget budget(1000);
  MemoryBudget::Grant growing;
  for (int round = 0; round < 3; ++round) ASSERT_TRUE(budget.TryGrow(growing, 200));
  EXPECT_EQ(growing.bytes(), 600);
  EXPECT_EQ(budget.in_use(), 600);
  EXPECT_TRUE(budget.TryGrow(growing, 900)) << "alone, it may grow past the bound";
  EXPECT_EQ(budget.in_use(), 1500);
  EXPECT_FALSE(budget.TryAcquire(1).has_value());
  growing.Release();
  EXPECT_EQ(budget.in_use(), 0);

  MemoryBudget::Grant small;
  ASSERT_TRUE(budget.TryGrow(small, 100));
  std::optional<MemoryBudget::Grant> other = budget.TryAcquire(100);
  ASSERT_TRUE(other.has_value());
  EXPECT_FALSE(budget.TryGrow(small, 900)) << "past the bound beside another call";
  EXPECT_EQ(small.bytes(), 100) << "a refused growth adds nothing";
  EXPECT_EQ(budget.in_use(), 200);
}

// gRPC may drop a response's bytes after the server, and the budget with it, is gone.
TEST(MemoryBudgetTest, AGrantMayOutliveItsBudget) {
  std::optional<MemoryBudget::Grant> grant;
  {
    MemoryBudget budget(1000);
    grant = budget.TryAcquire(10);
    ASSERT_TRUE(grant.has_value());
  }
  grant.reset();  // under AddressSanitizer, a use after free if the grant pointed into the budget
}

TEST(MemoryBudgetTest, ZeroBoundAdmitsEverythingAndStillCounts) {
  MemoryBudget budget(0);
  std::vector<MemoryBudget::Grant> grants;
  for (int i = 0; i < 10; ++i) {
    std::optional<MemoryBudget::Grant> grant = budget.TryAcquire(1 << 20);
    ASSERT_TRUE(grant.has_value());
    grants.push_back(std::move(*grant));
  }
  EXPECT_EQ(budget.in_use(), 10 << 20);
  grants.clear();
  EXPECT_EQ(budget.in_use(), 0);
}

// One article's bytes in many responses at once take its size once.
TEST(MemoryBudgetSharedBytesTest, CountedOnceWhileAnyHoldsThem) {
  MemoryBudget budget(1000);
  auto shared = std::make_shared<MemoryBudget::SharedBytes>(600);
  std::optional<MemoryBudget::SharedHold> first = budget.TryHold(shared);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(budget.in_use(), 600);
  std::optional<MemoryBudget::SharedHold> second = budget.TryHold(shared);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(budget.in_use(), 600) << "the second hold counts nothing more";
  EXPECT_EQ(shared->holders(), 2);
  first.reset();
  EXPECT_EQ(budget.in_use(), 600) << "still held by the second";
  second->Release();
  second->Release();  // once only
  EXPECT_EQ(budget.in_use(), 0) << "the last hold returns them";
  EXPECT_EQ(shared->holders(), 0);
  ASSERT_TRUE(budget.TryHold(shared).has_value()) << "and they can be held again";
  EXPECT_EQ(budget.in_use(), 0) << "a temporary hold";
}

TEST(MemoryBudgetSharedBytesTest, RefusedWhenNotHeldAndNoRoomAdmittedWhenAlreadyHeld) {
  MemoryBudget budget(1000);
  auto held_elsewhere = std::make_shared<MemoryBudget::SharedBytes>(400);
  auto not_held = std::make_shared<MemoryBudget::SharedBytes>(400);
  std::optional<MemoryBudget::SharedHold> holding = budget.TryHold(held_elsewhere);
  ASSERT_TRUE(holding.has_value());
  std::optional<MemoryBudget::Grant> filler = budget.TryAcquire(500);
  ASSERT_TRUE(filler.has_value());
  EXPECT_FALSE(budget.TryHold(not_held).has_value()) << "400 more would pass 1000";
  EXPECT_EQ(not_held->holders(), 0) << "a refusal holds nothing";
  EXPECT_EQ(budget.in_use(), 900);
  std::optional<MemoryBudget::SharedHold> again = budget.TryHold(held_elsewhere);
  EXPECT_TRUE(again.has_value()) << "bytes already counted take nothing more";
  EXPECT_EQ(budget.in_use(), 900);
}

TEST(MemoryBudgetSharedBytesTest, AHoldMovesAndMayOutliveItsBudget) {
  auto shared = std::make_shared<MemoryBudget::SharedBytes>(10);
  MemoryBudget::SharedHold moved_to;
  {
    MemoryBudget budget(1000);
    std::optional<MemoryBudget::SharedHold> held = budget.TryHold(shared);
    ASSERT_TRUE(held.has_value());
    moved_to = std::move(*held);
    held.reset();
    EXPECT_EQ(budget.in_use(), 10) << "the moved-from hold returned nothing";
    EXPECT_EQ(shared->holders(), 1);
  }
  moved_to.Release();  // under AddressSanitizer, a use after free if it pointed into the budget
  EXPECT_EQ(shared->holders(), 0);
}

// Holds taken and let go on many threads at once, beside grants: a held SharedBytes is never
// counted less than once, and everything is returned at the end.
TEST(MemoryBudgetSharedBytesTest, ConcurrentHoldsNeitherLoseNorLeakBytes) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 20000;
  MemoryBudget budget(0);  // no bound: only the count is checked
  std::vector<std::shared_ptr<MemoryBudget::SharedBytes>> articles;
  for (int i = 0; i < 3; ++i) articles.push_back(std::make_shared<MemoryBudget::SharedBytes>(1000));
  std::atomic<bool> undercounted{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        auto& article = articles[static_cast<std::size_t>((i + t) % 3)];
        std::optional<MemoryBudget::SharedHold> hold = budget.TryHold(article);
        std::optional<MemoryBudget::Grant> grant = budget.TryAcquire(1);
        // This article's 1000 bytes and our 1 are counted at least.
        if (budget.in_use() < 1001) undercounted = true;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_FALSE(undercounted) << "a held article's bytes were not counted";
  EXPECT_EQ(budget.in_use(), 0);
  for (const auto& article : articles) EXPECT_EQ(article->holders(), 0);
}

}  // namespace
}  // namespace newsroom
