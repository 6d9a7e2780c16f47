#pragma once

// The memory allocator a service runs on. Built with NEWSROOM_TCMALLOC (the default; off in the
// sanitizer and fuzz builds, whose runtimes replace malloc themselves), the binaries that link
// this library, analytics-service and the bench's empty server, allocate through gperftools'
// tcmalloc, measured cheaper than glibc's malloc for gRPC's many small allocations a call (0.79x
// of the empty server's CPU per call under h2load, 0.89x to 0.95x of analytics-service's per
// RecordRead). content-service does not link it: measured, tcmalloc's CPU saving there was not
// consistent (0.90x to 1.07x of glibc's per call in three runs of bench/ab-content) and it cost 3
// MiB of peak RSS at 1000 articles and 10 MiB at 120 000 articles, where every MiB counts against
// the 64 MB bound (docs/performance.md, "tcmalloc"). Its caches are bounded here, in the
// process, so a deployment needs no environment variables for the memory bound to hold.

#include <cstddef>
#include <string>

namespace newsroom {

// tcmalloc's own defaults allow 32 MiB of per-thread caches, and return freed pages to the system
// slowly (rate 1): measured, that doubled analytics-service's peak RSS (28 to 60 MiB) for a few
// microseconds a call. 4 MiB and rate 10 kept most of the gain (0.89x and 0.95x of glibc's CPU
// per RecordRead, in two runs) for 5 to 7 MiB.
inline constexpr std::size_t kMaxThreadCacheBytes = 4 * 1024 * 1024;
inline constexpr double kMemoryReleaseRate = 10;

struct AllocatorInfo {
  // "tcmalloc (gperftools 2.10)" or "glibc malloc".
  std::string name;
  // Total bytes the per-thread caches may hold, and tcmalloc's release rate (0 for glibc).
  std::size_t max_thread_cache_bytes = 0;
  double release_rate = 0;
};

// Bounds tcmalloc's caches to kMaxThreadCacheBytes and kMemoryReleaseRate, each unless the
// environment sets TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES or TCMALLOC_RELEASE_RATE respectively to
// a non-empty value (tcmalloc reads those itself, and an operator's choice wins). Call once at
// start-up, before serving; returns what is in effect, for the start-up log. Without tcmalloc it
// changes nothing.
AllocatorInfo ConfigureAllocator();

// Writes `info` as one start-up log line ("allocator").
void LogAllocator(const AllocatorInfo& info);

}  // namespace newsroom
