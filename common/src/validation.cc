#include "common/src/validation.h"

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace newsroom {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

}  // namespace

bool IsValidArticleId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxArticleIdBytes || !IsLowerAlnum(id.front())) return false;
  for (char c : id) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t code_point;
    uint32_t min_code_point;
    if ((lead & 0xE0) == 0xC0) {
      extra = 1, code_point = lead & 0x1F, min_code_point = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, code_point = lead & 0x0F, min_code_point = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, code_point = lead & 0x07, min_code_point = 0x10000;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (p[i] & 0x3F);
    }
    if (code_point < min_code_point || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

absl::StatusOr<absl::string_view> ParseArticleName(absl::string_view name,
                                                   absl::string_view field) {
  if (name.empty()) return Invalid(field, "is required");
  if (name.substr(0, kArticleNamePrefix.size()) != kArticleNamePrefix ||
      !IsValidArticleId(name.substr(kArticleNamePrefix.size()))) {
    return Invalid(
        field, "must be articles/{article_id} with article_id matching [a-z0-9][a-z0-9-]{0,62}");
  }
  return name.substr(kArticleNamePrefix.size());
}

absl::Status ValidateReadId(absl::string_view read_id, absl::string_view field) {
  if (read_id.empty()) return Invalid(field, "is required");
  if (read_id.size() > kMaxReadIdBytes) {
    return Invalid(field, absl::StrCat("must be at most ", kMaxReadIdBytes, " characters"));
  }
  for (char c : read_id) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '~' || c == ':' ||
                         c == '-';
    if (!allowed) return Invalid(field, "may only contain [A-Za-z0-9._~:-]");
  }
  return absl::OkStatus();
}

absl::Status ValidateReaderId(absl::string_view reader_id, absl::string_view field) {
  return ValidateText(reader_id, field, kMaxReaderIdBytes, TextKind::kSingleLine);
}

absl::Status ValidateText(absl::string_view value, absl::string_view field, std::size_t max_bytes,
                          TextKind kind, bool required) {
  if (value.empty()) return required ? Invalid(field, "is required") : absl::OkStatus();
  if (value.size() > max_bytes) {
    return Invalid(field, absl::StrCat("must be at most ", max_bytes, " bytes"));
  }
  if (!IsValidUtf8(value)) return Invalid(field, "must be valid UTF-8");
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7F) continue;
    if (kind == TextKind::kMultiLine && (c == '\n' || c == '\r' || c == '\t')) continue;
    return Invalid(field,
                   kind == TextKind::kSingleLine
                       ? "must be a single line without control characters"
                       : "must not contain control characters other than tab and line breaks");
  }
  return absl::OkStatus();
}

}  // namespace newsroom
