// ConfigureAllocator, in a binary linked as the services are: with NEWSROOM_TCMALLOC, malloc is
// tcmalloc's and its caches are bounded unless the environment says otherwise.

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

std::size_t Property(const char* name) {
  std::size_t value = 0;
  EXPECT_TRUE(MallocExtension::instance()->GetNumericProperty(name, &value)) << name;
  return value;
}

TEST(AllocatorTest, MallocIsTcmalloc) {
  const std::size_t before = Property("generic.current_allocated_bytes");
  constexpr std::size_t kBlock = 8 << 20;
  // volatile: an allocation nothing reads may be left out altogether.
  char* volatile block = static_cast<char*>(std::malloc(kBlock));
  block[0] = 1;
  EXPECT_GE(Property("generic.current_allocated_bytes"), before + kBlock)
      << "std::malloc did not allocate through tcmalloc";
  std::free(block);
}

TEST(AllocatorTest, BoundsTheCachesWhenTheEnvironmentDoesNot) {
  ASSERT_EQ(std::getenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES"), nullptr);
  ASSERT_EQ(std::getenv("TCMALLOC_RELEASE_RATE"), nullptr);
  const AllocatorInfo info = ConfigureAllocator();
  EXPECT_EQ(info.name, "tcmalloc (gperftools 2.10)");
  EXPECT_EQ(info.max_thread_cache_bytes, kMaxThreadCacheBytes);
  EXPECT_EQ(info.release_rate, kMemoryReleaseRate);
  EXPECT_EQ(Property("tcmalloc.max_total_thread_cache_bytes"), kMaxThreadCacheBytes);
  EXPECT_EQ(MallocExtension::instance()->GetMemoryReleaseRate(), kMemoryReleaseRate);
}

TEST(AllocatorTest, LeavesWhatTheEnvironmentSet) {
  // tcmalloc reads its variables when it starts; stand in for that by setting both values first.
  constexpr std::size_t kOperatorsBytes = 64 << 20;
  MallocExtension::instance()->SetNumericProperty("tcmalloc.max_total_thread_cache_bytes",
                                                  kOperatorsBytes);
  MallocExtension::instance()->SetMemoryReleaseRate(2);
  setenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES", "67108864", 1);
  setenv("TCMALLOC_RELEASE_RATE", "2", 1);
  const AllocatorInfo info = ConfigureAllocator();
  unsetenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES");
  unsetenv("TCMALLOC_RELEASE_RATE");
  EXPECT_EQ(info.max_thread_cache_bytes, kOperatorsBytes);
  EXPECT_EQ(info.release_rate, 2);
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
