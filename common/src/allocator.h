#pragma once

// The memory allocator a service runs on. Built with NEWSROOM_TCMALLOC (the default; off in the
// sanitizer and fuzz builds, whose runtimes replace malloc themselves) the services, the bench's
// empty server and these tests link gperftools' tcmalloc: per-thread caches take malloc's locks
// off the per-call path (docs/performance.md, "Allocator"). Its caches are bounded here, in the
// process, so that a deployment needs no environment variables for the memory limit to hold.

#include <cstddef>
#include <string>

namespace newsroom {

// tcmalloc's own defaults allow 32 MiB of per-thread caches, and return freed pages to the system
// slowly (rate 1): measured, that doubled analytics-service's peak RSS (28 to 60 MiB) for a few
// microseconds a call. 4 MiB and rate 10 kept 0.89x of glibc's CPU per call for +5 MiB.
inline constexpr std::size_t kMaxThreadCacheBytes = 4 * 1024 * 1024;
inline constexpr double kMemoryReleaseRate = 10;

struct AllocatorInfo {
  // "tcmalloc (gperftools 2.10)" or "glibc malloc".
  std::string name;
  // Total bytes the per-thread caches may hold, and tcmalloc's release rate (0 for glibc).
  std::size_t max_thread_cache_bytes = 0;
  double release_rate = 0;
};

// Bounds tcmalloc's caches to kMaxThreadCacheBytes and kMemoryReleaseRate, unless the
// environment sets TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES or TCMALLOC_RELEASE_RATE (tcmalloc reads
// those itself, and an operator's choice wins). Call once at start-up, before serving; returns
// what is in effect, for the start-up log. Without tcmalloc it changes nothing.
AllocatorInfo ConfigureAllocator();

// Writes `info` as one start-up log line ("allocator").
void LogAllocator(const AllocatorInfo& info);

}  // namespace newsroom
