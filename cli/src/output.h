#pragma once

// The one-line text forms the CLI prints besides a rendered article (see cli/README.md).

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "newsroom/content/v1/content_service.pb.h"

namespace newsroom::cli {

// "CODE_NAME: message" (e.g. "NOT_FOUND: articles/x: article not found"), or "CODE_NAME" when the
// message is empty. The code name is the canonical google.rpc.Code spelling.
[[nodiscard]] std::string FormatStatus(const absl::Status& status);

// One `list` line: name, publish date (or "-"), title, read count, separated by tabs.
[[nodiscard]] std::string FormatListLine(const newsroom::content::v1::Article& article);

// One `top` line: rank (from 1), reads in the period, title, name, separated by tabs.
[[nodiscard]] std::string FormatTopLine(std::size_t rank,
                                        const newsroom::content::v1::MostReadArticle& entry);

// One `watch` line: article id, reads, unique readers, separated by tabs
// ("harbour-line-reopens\t491 reads\t310 unique readers").
[[nodiscard]] std::string FormatWatchLine(const newsroom::analytics::v1::ReadStats& stats);

}  // namespace newsroom::cli
