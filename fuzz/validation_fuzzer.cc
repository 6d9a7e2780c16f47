// Request validation (common/src/validation.h) against the documented grammars: each check accepts
// exactly the inputs its grammar allows, and refuses the rest with INVALID_ARGUMENT naming the
// field.

#include <cstddef>
#include <cstdint>
#include <regex>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/src/validation.h"
#include "fuzz/fuzz_check.h"

namespace {

using ::newsroom::TextKind;

// UTF-8 as RFC 3629 section 4 writes it, byte range by byte range: a second implementation to hold
// IsValidUtf8 to.
bool Rfc3629Utf8(absl::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto in = [&](std::size_t i, unsigned lo, unsigned hi) {
    return i < text.size() && byte(i) >= lo && byte(i) <= hi;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned b = byte(i);
    if (b <= 0x7F) {
      i += 1;
    } else if (b >= 0xC2 && b <= 0xDF && in(i + 1, 0x80, 0xBF)) {
      i += 2;
    } else if (((b == 0xE0 && in(i + 1, 0xA0, 0xBF)) ||
                (((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) && in(i + 1, 0x80, 0xBF)) ||
                (b == 0xED && in(i + 1, 0x80, 0x9F))) &&
               in(i + 2, 0x80, 0xBF)) {
      i += 3;
    } else if (((b == 0xF0 && in(i + 1, 0x90, 0xBF)) ||
                (b >= 0xF1 && b <= 0xF3 && in(i + 1, 0x80, 0xBF)) ||
                (b == 0xF4 && in(i + 1, 0x80, 0x8F))) &&
               in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF)) {
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

bool Matches(const std::regex& grammar, absl::string_view text) {
  return std::regex_match(text.begin(), text.end(), grammar);
}

bool HasControl(absl::string_view text, bool allow_line_breaks) {
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (allow_line_breaks && (c == '\t' || c == '\n' || c == '\r')) continue;
    if (b < 0x20 || b == 0x7F) return true;
  }
  return false;
}

// A refusal is INVALID_ARGUMENT and its message starts with the field's name.
void CheckRefusal(const absl::Status& status, absl::string_view field) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  FUZZ_CHECK(absl::StartsWith(status.message(), field) &&
             absl::StartsWith(status.message().substr(field.size()), ": "));
}

void CheckArticleName(absl::string_view input) {
  static const auto* const kId = new std::regex("[a-z0-9][a-z0-9-]{0,62}");
  const absl::StatusOr<absl::string_view> id = newsroom::ParseArticleName(input, "name");
  // Longer inputs cannot match; sparing them the regex keeps the fuzzer fast.
  const bool grammar = input.size() <= 9 + 63 && absl::StartsWith(input, "articles/") &&
                       Matches(*kId, input.substr(9));
  FUZZ_CHECK(id.ok() == grammar);
  FUZZ_CHECK(newsroom::IsValidArticleId(input) == (input.size() <= 63 && Matches(*kId, input)));
  if (id.ok()) {
    FUZZ_CHECK(*id == input.substr(9));
  } else {
    CheckRefusal(id.status(), "name");
  }
}

void CheckReadId(absl::string_view input) {
  static const auto* const kReadId = new std::regex("[A-Za-z0-9._~:-]{1,128}");
  const absl::Status status = newsroom::ValidateReadId(input, "read_id");
  FUZZ_CHECK(status.ok() == (input.size() <= 128 && Matches(*kReadId, input)));
  if (!status.ok()) CheckRefusal(status, "read_id");
}

void CheckReaderId(absl::string_view input) {
  const absl::Status status = newsroom::ValidateReaderId(input, "reader_id");
  const bool grammar =
      input.empty() || (input.size() <= 256 && Rfc3629Utf8(input) && !HasControl(input, false));
  FUZZ_CHECK(status.ok() == grammar);
  if (!status.ok()) CheckRefusal(status, "reader_id");
}

// `control` picks the bound, the kind and whether the text is required.
void CheckText(unsigned char control, absl::string_view text) {
  const std::size_t max_bytes = control & 0x3F;
  const bool multi_line = (control & 0x40) != 0;
  const bool required = (control & 0x80) != 0;
  const absl::Status status = newsroom::ValidateText(
      text, "f", max_bytes, multi_line ? TextKind::kMultiLine : TextKind::kSingleLine, required);
  const bool grammar =
      text.empty() ? !required
                   : text.size() <= max_bytes && Rfc3629Utf8(text) && !HasControl(text, multi_line);
  FUZZ_CHECK(status.ok() == grammar);
  if (!status.ok()) CheckRefusal(status, "f");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  FUZZ_CHECK(newsroom::IsValidUtf8(input) == Rfc3629Utf8(input));
  CheckArticleName(input);
  CheckReadId(input);
  CheckReaderId(input);
  if (size > 0) CheckText(data[0], input.substr(1));
  return 0;
}
