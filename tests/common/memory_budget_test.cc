#include "common/src/memory_budget.h"

#include <gtest/gtest.h>

#include <optional>
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

}  // namespace
}  // namespace newsroom
