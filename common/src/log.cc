#include "common/src/log.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace newsroom::log {
namespace {

// Written once by SetService before threads start; a plain array, so nothing runs at exit.
char service_name[64] = "";

// The length of the well-formed UTF-8 sequence at the start of `text` (Unicode table 3-7: no
// overlong forms, no surrogates, nothing past U+10FFFF), or 0 when it is not one.
std::size_t Utf8SequenceLength(absl::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char first = byte(0);
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (first >= 0xC2 && first <= 0xDF) {
    length = 2;
  } else if (first >= 0xE0 && first <= 0xEF) {
    length = 3;
    if (first == 0xE0) low = 0xA0;
    if (first == 0xED) high = 0x9F;
  } else if (first >= 0xF0 && first <= 0xF4) {
    length = 4;
    if (first == 0xF0) low = 0x90;
    if (first == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

void AppendDouble(std::string& out, double value) {
  // JSON has no NaN or infinity.
  if (!std::isfinite(value)) {
    out.append("null");
    return;
  }
  absl::StrAppendFormat(&out, "%.3f", value);
}

}  // namespace

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

void AppendJsonString(std::string& out, absl::string_view text) {
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = Utf8SequenceLength(text.substr(i));
      if (length == 0) {
        out.append("\xEF\xBF\xBD");  // U+FFFD, for this one byte
        ++i;
      } else {
        out.append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

void Field::AppendTo(std::string& out) const {
  out.push_back(',');
  AppendJsonString(out, key_);
  out.push_back(':');
  switch (kind_) {
    case Kind::kString:
      AppendJsonString(out, string_);
      break;
    case Kind::kBool:
      out.append(int_ != 0 ? "true" : "false");
      break;
    case Kind::kInt:
      absl::StrAppend(&out, int_);
      break;
    case Kind::kUint:
      absl::StrAppend(&out, uint_);
      break;
    case Kind::kDouble:
      AppendDouble(out, double_);
      break;
  }
}

void SetService(absl::string_view service) {
  const std::size_t size = std::min(service.size(), sizeof(service_name) - 1);
  std::memcpy(service_name, service.data(), size);
  service_name[size] = '\0';
}

std::string FormatLine(absl::Time time, Level level, absl::string_view service,
                       absl::string_view msg, absl::Span<const Field> fields) {
  std::string line;
  line.reserve(160 + msg.size() + 48 * fields.size());
  line.append("{\"time\":\"");
  line.append(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone()));
  line.append("\",\"level\":\"");
  line.append(LevelName(level).data(), LevelName(level).size());
  line.append("\",\"service\":");
  AppendJsonString(line, service);
  line.append(",\"msg\":");
  AppendJsonString(line, msg);
  for (const Field& field : fields) field.AppendTo(line);
  line.append("}\n");
  return line;
}

void Write(Level level, absl::string_view msg, absl::Span<const Field> fields) {
  const std::string line = FormatLine(absl::Now(), level, service_name, msg, fields);
  // One write per line: a line from another thread lands before or after it, never inside (for
  // pipes up to PIPE_BUF, 4 KiB; longer lines are rare and only ours). A partial write or EINTR
  // continues with the rest.
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    const ssize_t written = ::write(STDERR_FILENO, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere to report it
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
}

}  // namespace newsroom::log
