#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "content-service/src/article_store.h"

namespace newsroom::content {

// ListArticles page tokens: opaque to clients, they carry the last article of the previous page
// (keyset pagination, so inserts between pages neither skip nor repeat articles) and the tag the
// listing was filtered by, so a token cannot be replayed against another listing.

[[nodiscard]] std::string EncodePageToken(const ListCursor& cursor, absl::string_view tag);

// Returns the cursor in `token`, or INVALID_ARGUMENT naming `page_token` when the token is not one
// this service issued for `tag`.
[[nodiscard]] absl::StatusOr<ListCursor> DecodePageToken(absl::string_view token,
                                                         absl::string_view tag);

}  // namespace newsroom::content
