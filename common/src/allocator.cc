#include "common/src/allocator.h"

#include <cstdint>
#include <cstdlib>

#include "common/src/log.h"

#if NEWSROOM_TCMALLOC
#include <gperftools/malloc_extension.h>
#include <gperftools/tcmalloc.h>
#endif

namespace newsroom {
namespace {

// Whether the operator set `name`. Empty counts as unset: a manifest's `value: ""` means no
// choice, where tcmalloc would read it as 0 (a release rate of 0 never returns memory).
[[maybe_unused]] bool EnvironmentSets(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0';
}

}  // namespace

AllocatorInfo ConfigureAllocator() {
#if NEWSROOM_TCMALLOC
  MallocExtension* tcmalloc = MallocExtension::instance();
  if (!EnvironmentSets("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES")) {
    tcmalloc->SetNumericProperty("tcmalloc.max_total_thread_cache_bytes", kMaxThreadCacheBytes);
  }
  if (!EnvironmentSets("TCMALLOC_RELEASE_RATE")) {
    tcmalloc->SetMemoryReleaseRate(kMemoryReleaseRate);
  }
  // The version loaded at run time rather than the headers' (TC_VERSION_STRING).
  int major = 0;
  int minor = 0;
  const char* patch = nullptr;
  AllocatorInfo info{.name = std::string("tcmalloc (") + tc_version(&major, &minor, &patch) + ")",
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
