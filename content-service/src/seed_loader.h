#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "newsroom/content/v1/content_service.pb.h"

namespace newsroom::content {

// Seed files larger than this are refused rather than read into memory.
inline constexpr std::uintmax_t kMaxSeedFileBytes = std::uintmax_t{64} << 20;

// Reads the articles in the JSON file at `path`, written in the protobuf JSON mapping of a
// ListArticlesResponse: `{"articles": [{"name": "articles/...", "title": ...}, ...]}`.
//
// Only parses: checking the articles' fields is the caller's job. Returns NOT_FOUND when the file
// does not exist, INVALID_ARGUMENT when it is not a readable regular file, is larger than
// kMaxSeedFileBytes, or is not valid JSON for that message (unknown fields included; the message
// carries the parser's explanation). Every message names `path`.
[[nodiscard]] absl::StatusOr<std::vector<v1::Article>> LoadSeedArticles(const std::string& path);

}  // namespace newsroom::content
