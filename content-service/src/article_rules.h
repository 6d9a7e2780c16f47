#pragma once

// What makes an article valid, and how an update mask changes one. Pure functions, no I/O.

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "newsroom/content/v1/content_service.pb.h"

namespace newsroom::content {

namespace content_v1 = ::newsroom::content::v1;

// Size bounds, in bytes of UTF-8; documented in content_service.proto.
inline constexpr std::size_t kMaxTitleBytes = 500;
inline constexpr std::size_t kMaxSubtitleBytes = 2000;
inline constexpr std::size_t kMaxBodyBytes = 200000;
inline constexpr std::size_t kMaxCaptionBytes = 1000;
inline constexpr std::size_t kMaxCreditBytes = 300;
inline constexpr std::size_t kMaxSourceNameBytes = 300;
inline constexpr std::size_t kMaxUriBytes = 2048;
inline constexpr int kMaxTags = 20;
inline constexpr int kMaxAuthors = 20;
inline constexpr std::size_t kMaxAuthorBytes = 200;
inline constexpr std::size_t kMaxLanguageBytes = 35;

// Checks every client-settable field of `article` (not its name or output-only fields).
// Returns INVALID_ARGUMENT naming the field as `<prefix>.<field>`, e.g. `article.tags[2]`.
[[nodiscard]] absl::Status ValidateArticleContent(const content_v1::Article& article,
                                                  absl::string_view prefix = "article");

// INVALID_ARGUMENT when `message` or any message inside it carries fields this server does not
// know (a client built from a newer schema): storing them would serve unvalidated bytes to every
// reader, and dropping them would lose what the editor sent without a word. Names the first one
// found as `<prefix>.<path>: unknown field <number>`.
[[nodiscard]] absl::Status RejectUnknownFields(const google::protobuf::Message& message,
                                               absl::string_view prefix);

// RejectUnknownFields for an article a client sent, leaving out `read_stats`: it is output only
// and never stored, and a client may send back an article it read from a newer replica during a
// rollout, whose stats carry fields this one does not know.
[[nodiscard]] absl::Status RejectUnknownArticleFields(const content_v1::Article& article,
                                                      absl::string_view prefix = "article");

// True when `tag` matches `[a-z0-9][a-z0-9-]{0,62}`.
[[nodiscard]] bool IsValidTag(absl::string_view tag);

// Returns `current` with the fields named by `mask` taken from `patch` (AIP-134): an empty mask
// means every field set in `patch`; `*` means every updatable field. Naming an output-only or
// unknown field is INVALID_ARGUMENT. Output-only fields of the result are those of `current`. A
// `publish_time` the update clears falls back to `current`'s create_time, its documented default.
[[nodiscard]] absl::StatusOr<content_v1::Article> ApplyUpdateMask(
    const content_v1::Article& current, const content_v1::Article& patch,
    const google::protobuf::FieldMask& mask);

}  // namespace newsroom::content
