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

// Named frames for the crash report to show; not inlined, so that each is a frame of its own.
[[gnu::noinline]] void AbortForTheTest() { std::abort(); }
[[gnu::noinline]] void SegfaultForTheTest() {
  volatile int* volatile nowhere = nullptr;
  *nowhere = 1;
}

// A crash says which signal and where on stderr, innermost frame first (here one in libc, where
// abort raised the signal: the handler's own frames are left out), then the process still dies of
// that signal, as an orchestrator or a core dump expects. abort() would end the process itself if
// the handler returned, so this shows the report, not the chaining; the fault below shows that.
TEST(PrepareServerProcessDeathTest, AnAbortWritesItsSignalAndStackThenDiesOfIt) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        PrepareServerProcess("/proc/self/exe");
        AbortForTheTest();
      },
      testing::KilledBySignal(SIGABRT),
      "\\*\\*\\* SIGABRT received by thread [0-9]+; its stack, innermost first:\n"
      "    @ 0x[0-9a-f]+  [^\n]*\\(/[^\n]*libc\\.so[^\n]*\n"
      ".*  abort  [^\n]*\n    @ [^\n]*AbortForTheTest\\(\\)");
}

// A fault: the report starts at the faulting function itself, and the process then dies of the
// fault, which re-runs once the handler has put back the default action (were it not put back,
// the handler would run again and wait forever, and the test would time out).
TEST(PrepareServerProcessDeathTest, AFaultWritesItsSignalAndStackThenDiesOfIt) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer reports the fault itself";
#endif
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        PrepareServerProcess("/proc/self/exe");
        SegfaultForTheTest();
      },
      testing::KilledBySignal(SIGSEGV),
      "\\*\\*\\* SIGSEGV received by thread [0-9]+; its stack, innermost first:\n"
      "    @ 0x[0-9a-f]+  [^\n]*SegfaultForTheTest[^\n]*server_process_test\\+0x[0-9a-f]+\\)\n");
}

}  // namespace
}  // namespace newsroom
