#pragma once

// Structured logs: one JSON object per line on stderr, e.g.
//   {"time":"2024-05-01T12:00:00.123Z","level":"info","service":"content-service","msg":"..."}
// followed by the line's own fields. Each line goes out in one write(2), so lines written by
// concurrent threads never interleave. Keys are code constants, written as given; every string
// value is JSON-escaped, invalid UTF-8 included.
//
// Process-wide functions rather than a logger passed to every class: stderr is one per process,
// and gRPC's and protobuf's log hooks are plain function pointers that could not reach an object.
// The only state is the service name, set once at start.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <type_traits>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace newsroom::log {

enum class Level { kDebug, kInfo, kWarning, kError };

// "debug", "info", "warning" or "error".
[[nodiscard]] absl::string_view LevelName(Level level);

// One key and its value. Holds views: the value must outlive the call that writes the line.
class Field {
 public:
  Field(absl::string_view key, absl::string_view value)
      : key_(key), kind_(Kind::kString), string_(value) {}
  Field(absl::string_view key, const std::string& value) : Field(key, absl::string_view(value)) {}
  Field(absl::string_view key, const char* value) : Field(key, absl::string_view(value)) {}
  Field(absl::string_view key, bool value) : key_(key), kind_(Kind::kBool), int_(value ? 1 : 0) {}
  Field(absl::string_view key, double value) : key_(key), kind_(Kind::kDouble), double_(value) {}
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Field(absl::string_view key, T value)
      : key_(key),
        kind_(std::is_signed_v<T> ? Kind::kInt : Kind::kUint),
        int_(static_cast<std::int64_t>(value)),
        uint_(static_cast<std::uint64_t>(value)) {}

  // Appends `,"key":value` to `out`.
  void AppendTo(std::string& out) const;

 private:
  enum class Kind { kString, kBool, kInt, kUint, kDouble };
  absl::string_view key_;
  Kind kind_;
  absl::string_view string_;
  std::int64_t int_ = 0;
  std::uint64_t uint_ = 0;
  double double_ = 0;
};

// Sets the `service` field of every line (at most 63 bytes kept). Call once, at the top of main,
// before any thread starts.
void SetService(absl::string_view service);

// Appends `text` to `out` as a JSON string, quotes included: `"` and `\` escaped, control
// characters as \n, \t, ... or \u00XX, and each byte of invalid UTF-8 replaced by U+FFFD.
void AppendJsonString(std::string& out, absl::string_view text);

// The line Write writes (with its trailing newline), for `time`.
[[nodiscard]] std::string FormatLine(absl::Time time, Level level, absl::string_view service,
                                     absl::string_view msg, absl::Span<const Field> fields);

// Writes one line to stderr.
void Write(Level level, absl::string_view msg, absl::Span<const Field> fields = {});

inline void Info(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kInfo, msg, fields);
}
inline void Warning(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kWarning, msg, fields);
}
inline void Error(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(Level::kError, msg, fields);
}

}  // namespace newsroom::log
