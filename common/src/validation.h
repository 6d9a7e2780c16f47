#pragma once

// Input checks shared by both services. Each returns INVALID_ARGUMENT with a message that names the
// field, so that a caller can tell exactly what to fix.

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace newsroom {

inline constexpr absl::string_view kArticleNamePrefix = "articles/";
inline constexpr std::size_t kMaxArticleIdBytes = 63;
inline constexpr std::size_t kMaxReadIdBytes = 128;
inline constexpr std::size_t kMaxReaderIdBytes = 256;

// True when `id` matches `[a-z0-9][a-z0-9-]{0,62}`.
[[nodiscard]] bool IsValidArticleId(absl::string_view id);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF).
[[nodiscard]] bool IsValidUtf8(absl::string_view text);

// Returns the article id of `name` (`articles/{article_id}`), or INVALID_ARGUMENT naming `field`.
[[nodiscard]] absl::StatusOr<absl::string_view> ParseArticleName(absl::string_view name,
                                                                 absl::string_view field);

// An idempotency key: 1 to 128 characters from `[A-Za-z0-9._~:-]`.
[[nodiscard]] absl::Status ValidateReadId(absl::string_view read_id, absl::string_view field);

// An opaque reader identity: empty, or at most 256 bytes of UTF-8 without control characters.
[[nodiscard]] absl::Status ValidateReaderId(absl::string_view reader_id, absl::string_view field);

enum class TextKind {
  kSingleLine,  // no control characters at all
  kMultiLine,   // tabs and line breaks allowed, other control characters not
};

// Checks that `value` is UTF-8 of at most `max_bytes` bytes with no forbidden control characters,
// and, when `required`, that it is not empty.
[[nodiscard]] absl::Status ValidateText(absl::string_view value, absl::string_view field,
                                        std::size_t max_bytes, TextKind kind,
                                        bool required = false);

}  // namespace newsroom
