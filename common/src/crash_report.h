#pragma once

namespace newsroom {

// On a crash (SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE) writes to stderr which signal it was and
// the crashing thread's stack, one frame a line with the function's name where the binary or
// library has one and always the file and offset (for addr2line), e.g.
//
//   *** SIGABRT received by thread 4242; its stack, innermost first:
//     @ 0x00007f3a5c0a8eec  pthread_kill  (/lib/x86_64-linux-gnu/libc.so.6+0x8aeec)
//
// The process then dies as it would have without the report: the signal goes on to the handler
// that was installed before (AddressSanitizer's, in a sanitizer build) or to the default action
// (death by the signal, and a core dump where the system keeps them).
//
// Frames are found by unwinding with each library's unwind tables, not by frame pointers, which
// Debian's libraries leave out: a crash inside gRPC or libc is traced through them. The calling
// thread (main's) gets an alternate signal stack, so that a stack overflow there is reported too.
// A report that cannot finish in 5 s (a deadlock in the loader's lock) ends in SIGALRM instead.
// Call once, early in main; later calls do nothing. Everything the handler needs is loaded here,
// because loading it inside a signal handler could allocate.
void InstallCrashReport(const char* argv0);

}  // namespace newsroom
