#pragma once

// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` header that callers
// send in gRPC metadata and that content-service passes on to analytics-service. Parsing is
// strict: a header that is not exactly right is ignored, and the call starts a new trace.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace newsroom {

// The gRPC metadata key (keys are lower-case on the wire).
inline constexpr char kTraceparentKey[] = "traceparent";
// "00-" + 32 + "-" + 16 + "-" + 2.
inline constexpr std::size_t kTraceparentSize = 55;

// A span of a trace: the ids and flags that a traceparent carries. As sent, `span_id` is the
// parent-id of whoever receives it.
struct TraceContext {
  std::array<std::uint8_t, 16> trace_id{};
  std::array<std::uint8_t, 8> span_id{};
  // Bit 0: sampled. The only flag of version 00 and the only one passed on.
  std::uint8_t flags = 0;

  [[nodiscard]] bool sampled() const { return (flags & 0x01) != 0; }
};

// The trace context of a `traceparent` value, or nullopt when it is not valid: version 00 of
// exactly 55 characters; a higher version (not ff) of at least 55 whose first 55 have version 00's
// shape and which, if longer, goes on with '-'; ids lower-case hex and not all zeros. Only the
// sampled flag is kept.
[[nodiscard]] std::optional<TraceContext> ParseTraceparent(absl::string_view header);

// `trace` as a version 00 traceparent value.
[[nodiscard]] std::array<char, kTraceparentSize> FormatTraceparent(const TraceContext& trace);

// The ids as lower-case hex (32 and 16 characters), for logs.
[[nodiscard]] std::string TraceIdHex(const TraceContext& trace);
[[nodiscard]] std::string SpanIdHex(const TraceContext& trace);

// Whether a new trace with this id is sampled at `rate` (0 to 1): decided by the id's last 8
// bytes, as OpenTelemetry's TraceIdRatioBased sampler does, so every service that decides by the
// same rate decides alike.
[[nodiscard]] bool SampledAtRate(const std::array<std::uint8_t, 16>& trace_id, double rate);

// A new trace (random ids from a per-thread generator, never all zeros), sampled at `rate`.
[[nodiscard]] TraceContext NewTrace(double rate);

// A new span of `parent`'s trace: same trace id and flags, a new random span id.
[[nodiscard]] TraceContext NewChildSpan(const TraceContext& parent);

}  // namespace newsroom
