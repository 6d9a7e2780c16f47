// ConfigureAllocator, in a binary linked as analytics-service is: with NEWSROOM_TCMALLOC, malloc
// is tcmalloc's and its caches are bounded, each unless the environment says otherwise.

#include "common/src/allocator.h"

#include <stdlib.h>

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

#if NEWSROOM_TCMALLOC
#include <gperftools/malloc_extension.h>
#endif

namespace newsroom {
namespace {

#if NEWSROOM_TCMALLOC

constexpr char kCacheVariable[] = "TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES";
constexpr char kRateVariable[] = "TCMALLOC_RELEASE_RATE";

std::size_t Property(const char* name) {
  std::size_t value = 0;
  EXPECT_TRUE(MallocExtension::instance()->GetNumericProperty(name, &value)) << name;
  return value;
}

// tcmalloc reads its variables once, when it starts; each test stands in for that by setting the
// values first, then sets the variables for ConfigureAllocator to see, and unsets them after.
class AllocatorTest : public ::testing::Test {
 protected:
  static constexpr std::size_t kOperatorsBytes = 64 << 20;
  static constexpr double kOperatorsRate = 2;

  void SetUp() override {
    ASSERT_EQ(std::getenv(kCacheVariable), nullptr) << "run without " << kCacheVariable;
    ASSERT_EQ(std::getenv(kRateVariable), nullptr) << "run without " << kRateVariable;
    MallocExtension::instance()->SetNumericProperty("tcmalloc.max_total_thread_cache_bytes",
                                                    kOperatorsBytes);
    MallocExtension::instance()->SetMemoryReleaseRate(kOperatorsRate);
  }
  void TearDown() override {
    unsetenv(kCacheVariable);
    unsetenv(kRateVariable);
  }
};

TEST_F(AllocatorTest, MallocIsTcmalloc) {
  const std::size_t before = Property("generic.current_allocated_bytes");
  constexpr std::size_t kBlock = 8 << 20;
  // volatile: an allocation nothing reads may be left out altogether.
  char* volatile block = static_cast<char*>(std::malloc(kBlock));
  block[0] = 1;
  EXPECT_GE(Property("generic.current_allocated_bytes"), before + kBlock)
      << "std::malloc did not allocate through tcmalloc";
  std::free(block);
}

TEST_F(AllocatorTest, BoundsBothWhenTheEnvironmentSetsNeither) {
  const AllocatorInfo info = ConfigureAllocator();
  EXPECT_EQ(info.name.rfind("tcmalloc (gperftools ", 0), 0u) << info.name;
  EXPECT_EQ(info.max_thread_cache_bytes, kMaxThreadCacheBytes);
  EXPECT_EQ(info.release_rate, kMemoryReleaseRate);
  EXPECT_EQ(Property("tcmalloc.max_total_thread_cache_bytes"), kMaxThreadCacheBytes);
  EXPECT_EQ(MallocExtension::instance()->GetMemoryReleaseRate(), kMemoryReleaseRate);
}

TEST_F(AllocatorTest, LeavesTheCacheBoundTheEnvironmentSet) {
  setenv(kCacheVariable, "67108864", 1);
  const AllocatorInfo info = ConfigureAllocator();
  EXPECT_EQ(info.max_thread_cache_bytes, kOperatorsBytes);
  EXPECT_EQ(info.release_rate, kMemoryReleaseRate);
}

TEST_F(AllocatorTest, LeavesTheReleaseRateTheEnvironmentSet) {
  setenv(kRateVariable, "2", 1);
  const AllocatorInfo info = ConfigureAllocator();
  EXPECT_EQ(info.max_thread_cache_bytes, kMaxThreadCacheBytes);
  EXPECT_EQ(info.release_rate, kOperatorsRate);
}

TEST_F(AllocatorTest, AnEmptyVariableIsNoChoice) {
  setenv(kCacheVariable, "", 1);
  setenv(kRateVariable, "", 1);
  const AllocatorInfo info = ConfigureAllocator();
  EXPECT_EQ(info.max_thread_cache_bytes, kMaxThreadCacheBytes);
  EXPECT_EQ(info.release_rate, kMemoryReleaseRate);
}

#else

TEST(AllocatorTest, WithoutTcmallocChangesNothing) {
  const AllocatorInfo info = ConfigureAllocator();
  EXPECT_EQ(info.name, "glibc malloc");
  EXPECT_EQ(info.max_thread_cache_bytes, 0u);
  EXPECT_EQ(info.release_rate, 0);
}

#endif

}  // namespace
}  // namespace newsroom
