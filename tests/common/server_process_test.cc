// PrepareServerProcess's process-wide settings, in a binary of their own: glibc fixes how many
// malloc arenas it may make once threads have asked for them, so nothing may run before.

#include <malloc.h>
#include <signal.h>
#include <stdio.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/barrier.h"
#include "common/src/grpc_server.h"
#include "gtest/gtest.h"

namespace newsroom {
namespace {

// How many arenas glibc's malloc has, from malloc_info's XML (one <heap> element per arena).
int MallocArenas() {
  char* text = nullptr;
  std::size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  malloc_info(0, out);
  std::fclose(out);
  const std::string xml(text, size);
  std::free(text);
  int arenas = 0;
  for (std::size_t at = xml.find("<heap nr="); at != std::string::npos;
       at = xml.find("<heap nr=", at + 1)) {
    ++arenas;
  }
  return arenas;
}

TEST(PrepareServerProcessTest, CapsMallocArenas) {
  ASSERT_EQ(std::getenv("MALLOC_ARENA_MAX"), nullptr) << "run without MALLOC_ARENA_MAX";
  PrepareServerProcess("/proc/self/exe");
  // glibc gives each new thread that allocates an arena of its own while it may make more; 8 live
  // threads would make 9 arenas (the limit is 8 per core) without the cap.
  constexpr int kThreads = 8;
  absl::Barrier allocated(kThreads + 1);
  absl::Barrier counted(kThreads + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      // volatile: an allocation nothing reads may be left out altogether.
      char* volatile block = static_cast<char*>(std::malloc(1024));
      block[0] = 1;
      allocated.Block();
      counted.Block();
      std::free(block);
    });
  }
  allocated.Block();
  const int arenas = MallocArenas();
  counted.Block();
  for (std::thread& thread : threads) thread.join();
  EXPECT_GE(arenas, 1);
  EXPECT_LE(arenas, kServerMallocArenas);
}

// A named frame for the crash report to show; not inlined, so that it is a frame of its own.
[[gnu::noinline]] void CrashForTheTest() { std::abort(); }

// A crash says which signal and where on stderr, then the process still dies of that signal (as an
// orchestrator or a core dump expects).
TEST(PrepareServerProcessDeathTest, ACrashWritesItsSignalAndStackThenDiesOfIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        PrepareServerProcess("/proc/self/exe");
        CrashForTheTest();
      },
      testing::KilledBySignal(SIGABRT),
      "\\*\\*\\* SIGABRT received by thread [0-9]+; its stack.*abort.*CrashForTheTest");
}

}  // namespace
}  // namespace newsroom
