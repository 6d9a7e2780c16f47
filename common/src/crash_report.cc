#include "common/src/crash_report.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

#include "absl/debugging/symbolize.h"

namespace newsroom {
namespace {

// Everything below runs inside a signal handler: no allocation, no locks, no stdio; only write(2)
// into fixed buffers. (dladdr may take the loader's lock: the alarm below ends a report that
// hangs.)

constexpr int kCrashSignals[] = {SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE};
constexpr int kMaxFrames = 64;
// Long enough for a symbolized name and a library path; longer ones are cut, not overrun.
constexpr std::size_t kLineBytes = 1024;
// A report that cannot finish (a deadlock in dladdr) still lets the process die, of SIGALRM.
constexpr unsigned kReportSeconds = 5;
// The unwinder and the symbolizer need a few kB of stack.
constexpr std::size_t kAlternateStackBytes = 64 * 1024;

struct sigaction previous_actions[NSIG];
std::atomic<bool> installed{false};
std::atomic<bool> reporting{false};

// A line being written: appends what fits and drops the rest, always keeping room for its newline.
class Line {
 public:
  Line& Text(const char* text) {
    while (*text != '\0' && size_ < kLineBytes - 1) bytes_[size_++] = *text++;
    return *this;
  }
  Line& Decimal(std::uint64_t value) {
    char digits[20];
    int count = 0;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count > 0 && size_ < kLineBytes - 1) bytes_[size_++] = digits[--count];
    return *this;
  }
  // At least `width` (at most 16) hex digits, after "0x".
  Line& Hex(std::uintptr_t value, int width) {
    width = std::min(width, 16);
    char digits[16];
    int count = 0;
    do {
      digits[count++] = "0123456789abcdef"[value & 0xf];
      value >>= 4;
    } while (value != 0 || count < width);
    Text("0x");
    while (count > 0 && size_ < kLineBytes - 1) bytes_[size_++] = digits[--count];
    return *this;
  }
  // Ends the line and writes it.
  void WriteTo(int fd) {
    bytes_[size_++] = '\n';
    const char* at = bytes_;
    std::size_t left = size_;
    while (left > 0) {
      const ssize_t written = ::write(fd, at, left);
      if (written <= 0) return;  // nowhere left to report to
      at += written;
      left -= static_cast<std::size_t>(written);
    }
  }

 private:
  char bytes_[kLineBytes];
  std::size_t size_ = 0;
};

const char* SignalName(int signal_number) {
  switch (signal_number) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGILL:
      return "SIGILL";
    case SIGFPE:
      return "SIGFPE";
  }
  return "signal";
}

// Where the thread was when the signal came, from the context the kernel saved; 0 if unknown.
std::uintptr_t InterruptedAt(const void* context) {
  if (context == nullptr) return 0;
  const auto* saved = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
  return static_cast<std::uintptr_t>(saved->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return static_cast<std::uintptr_t>(saved->uc_mcontext.pc);
#else
  (void)saved;
  return 0;
#endif
}

void WriteFrame(std::uintptr_t pc, bool is_return_address) {
  Line line;
  line.Text("    @ ").Hex(pc, 16);
  // A return address is the instruction after the call: the call itself is the byte before, which
  // matters when the call is a function's last instruction, and is the line addr2line should name.
  const std::uintptr_t lookup = is_return_address ? pc - 1 : pc;
  char name[512];
  if (absl::Symbolize(reinterpret_cast<const void*>(lookup), name, sizeof(name))) {
    line.Text("  ").Text(name);
  } else {
    line.Text("  (unknown)");
  }
  Dl_info object;
  if (dladdr(reinterpret_cast<const void*>(lookup), &object) != 0 && object.dli_fname != nullptr) {
    line.Text("  (")
        .Text(object.dli_fname)
        .Text("+")
        .Hex(lookup - reinterpret_cast<std::uintptr_t>(object.dli_fbase), 1)
        .Text(")");
  }
  line.WriteTo(STDERR_FILENO);
}

void Report(int signal_number, const void* context) {
  alarm(kReportSeconds);
  Line heading;
  heading.Text("*** ")
      .Text(SignalName(signal_number))
      .Text(" received by thread ")
      .Decimal(static_cast<std::uint64_t>(syscall(SYS_gettid)))
      .Text("; its stack, innermost first:")
      .WriteTo(STDERR_FILENO);

  void* frames[kMaxFrames];
  const int count = backtrace(frames, kMaxFrames);
  // The first frames are this handler's own and the kernel's signal trampoline: start at the
  // interrupted instruction when it is found among them.
  const std::uintptr_t interrupted = InterruptedAt(context);
  int first = 0;
  for (int i = 0; i < count; ++i) {
    if (reinterpret_cast<std::uintptr_t>(frames[i]) == interrupted) {
      first = i;
      break;
    }
  }
  for (int i = first; i < count; ++i) {
    // The interrupted frame's address is where it stopped; every other one is a return address.
    WriteFrame(reinterpret_cast<std::uintptr_t>(frames[i]), i != first || interrupted == 0);
  }
  if (count == kMaxFrames) Line().Text("    ... (deeper frames left out)").WriteTo(STDERR_FILENO);
  alarm(0);
}

void OnCrash(int signal_number, siginfo_t* info, void* context) {
  // Two threads crashing at once: one reports, and the process dies when that report is done (or
  // its alarm rings); the other waits here rather than end the process in the middle of it.
  if (reporting.exchange(true)) {
    for (;;) pause();
  }
  Report(signal_number, context);
  sigaction(signal_number, &previous_actions[signal_number], nullptr);
  // A signal sent (by kill, raise or abort) is sent again, to the handler restored, once this one
  // returns. A fault happens again when the faulting instruction re-runs.
  if (info == nullptr || info->si_code <= 0) raise(signal_number);
}

}  // namespace

void InstallCrashReport(const char* argv0) {
  if (installed.exchange(true)) return;
  absl::InitializeSymbolizer(argv0);
  // The first backtrace() loads libgcc's unwinder, which allocates; do it here rather than in a
  // handler. The first Symbolize sets up its own signal-safe arena.
  void* frames[1];
  backtrace(frames, 1);
  char name[16];
  absl::Symbolize(reinterpret_cast<const void*>(&InstallCrashReport), name, sizeof(name));

  // An overflow of the main thread's stack leaves no stack to report on: give the handler one of
  // its own. (gRPC's threads run it on theirs; AddressSanitizer gives each thread an alternate
  // stack.)
  static char alternate_stack[kAlternateStackBytes];
  stack_t alternate;
  std::memset(&alternate, 0, sizeof(alternate));
  alternate.ss_sp = alternate_stack;
  alternate.ss_size = sizeof(alternate_stack);
  sigaltstack(&alternate, nullptr);

  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_sigaction = &OnCrash;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (int signal_number : kCrashSignals) {
    sigaction(signal_number, &action, &previous_actions[signal_number]);
  }
}

}  // namespace newsroom
