#include "common/src/allocator.h"

#include <cstdlib>

#include "common/src/log.h"

#if NEWSROOM_TCMALLOC
#include <gperftools/malloc_extension.h>
#include <gperftools/tcmalloc.h>
#endif

namespace newsroom {

AllocatorInfo ConfigureAllocator() {
#if NEWSROOM_TCMALLOC
  MallocExtension* tcmalloc = MallocExtension::instance();
  if (std::getenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES") == nullptr) {
    tcmalloc->SetNumericProperty("tcmalloc.max_total_thread_cache_bytes", kMaxThreadCacheBytes);
  }
  if (std::getenv("TCMALLOC_RELEASE_RATE") == nullptr) {
    tcmalloc->SetMemoryReleaseRate(kMemoryReleaseRate);
  }
  AllocatorInfo info{.name = "tcmalloc (" TC_VERSION_STRING ")",
                     .release_rate = tcmalloc->GetMemoryReleaseRate()};
  tcmalloc->GetNumericProperty("tcmalloc.max_total_thread_cache_bytes",
                               &info.max_thread_cache_bytes);
  return info;
#else
  return AllocatorInfo{.name = "glibc malloc"};
#endif
}

void LogAllocator(const AllocatorInfo& info) {
  log::Info("allocator",
            {{"name", info.name},
             {"max_thread_cache_bytes", static_cast<int64_t>(info.max_thread_cache_bytes)},
             {"release_rate", info.release_rate}});
}

}  // namespace newsroom
