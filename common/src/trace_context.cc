#include "common/src/trace_context.h"

#include <algorithm>
#include <cstring>

#include "absl/random/random.h"

namespace newsroom {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// The value of a lower-case hex digit, or -1.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes `hex` (2 * N lower-case hex digits) into `out`; false when it is not that.
template <std::size_t N>
bool DecodeHex(absl::string_view hex, std::array<std::uint8_t, N>& out) {
  if (hex.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int high = HexValue(hex[2 * i]);
    const int low = HexValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    out[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return true;
}

template <std::size_t N>
bool AllZero(const std::array<std::uint8_t, N>& bytes) {
  for (std::uint8_t byte : bytes) {
    if (byte != 0) return false;
  }
  return true;
}

template <std::size_t N>
char* EncodeHex(const std::array<std::uint8_t, N>& bytes, char* out) {
  for (std::uint8_t byte : bytes) {
    *out++ = kHexDigits[byte >> 4];
    *out++ = kHexDigits[byte & 0x0F];
  }
  return out;
}

// Random bytes, never all zeros (an all-zero id is invalid), from a generator per thread: no
// lock is shared between calls.
template <std::size_t N>
void FillRandom(std::array<std::uint8_t, N>& bytes) {
  thread_local absl::InsecureBitGen bits;
  do {
    for (std::size_t i = 0; i < N; i += 8) {
      const std::uint64_t value = absl::Uniform<std::uint64_t>(bits);
      std::memcpy(bytes.data() + i, &value, std::min<std::size_t>(8, N - i));
    }
  } while (AllZero(bytes));
}

}  // namespace

std::optional<TraceContext> ParseTraceparent(absl::string_view header) {
  if (header.size() < kTraceparentSize) return std::nullopt;
  std::array<std::uint8_t, 1> version;
  if (!DecodeHex(header.substr(0, 2), version) || version[0] == 0xFF) return std::nullopt;
  // Version 00 is exactly 55 characters; a later version may add fields after another dash.
  if (version[0] == 0 ? header.size() != kTraceparentSize
                      : header.size() > kTraceparentSize && header[kTraceparentSize] != '-') {
    return std::nullopt;
  }
  if (header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
  TraceContext trace;
  std::array<std::uint8_t, 1> flags;
  if (!DecodeHex(header.substr(3, 32), trace.trace_id) ||
      !DecodeHex(header.substr(36, 16), trace.span_id) || !DecodeHex(header.substr(53, 2), flags) ||
      AllZero(trace.trace_id) || AllZero(trace.span_id)) {
    return std::nullopt;
  }
  trace.flags = flags[0] & 0x01;
  return trace;
}

std::array<char, kTraceparentSize> FormatTraceparent(const TraceContext& trace) {
  std::array<char, kTraceparentSize> out;
  char* p = out.data();
  *p++ = '0';
  *p++ = '0';
  *p++ = '-';
  p = EncodeHex(trace.trace_id, p);
  *p++ = '-';
  p = EncodeHex(trace.span_id, p);
  *p++ = '-';
  EncodeHex(std::array<std::uint8_t, 1>{static_cast<std::uint8_t>(trace.flags & 0x01)}, p);
  return out;
}

std::string TraceIdHex(const TraceContext& trace) {
  std::string hex(32, '0');
  EncodeHex(trace.trace_id, hex.data());
  return hex;
}

std::string SpanIdHex(const TraceContext& trace) {
  std::string hex(16, '0');
  EncodeHex(trace.span_id, hex.data());
  return hex;
}

bool SampledAtRate(const std::array<std::uint8_t, 16>& trace_id, double rate) {
  if (!(rate > 0)) return false;  // NaN too
  if (rate >= 1) return true;
  std::uint64_t low = 0;
  for (std::size_t i = 8; i < 16; ++i) low = (low << 8) | trace_id[i];
  // 2^64 * rate, below 2^64 since rate < 1.
  const auto threshold = static_cast<std::uint64_t>(rate * 18446744073709551616.0);
  return low < threshold;
}

TraceContext NewTrace(double rate) {
  TraceContext trace;
  FillRandom(trace.trace_id);
  FillRandom(trace.span_id);
  trace.flags = SampledAtRate(trace.trace_id, rate) ? 0x01 : 0x00;
  return trace;
}

TraceContext NewChildSpan(const TraceContext& parent) {
  TraceContext child = parent;
  FillRandom(child.span_id);
  return child;
}

}  // namespace newsroom
