#pragma once

#include <string>

#include "newsroom/analytics/v1/analytics_service.pb.h"
#include "newsroom/content/v1/content_service.pb.h"

namespace newsroom::cli {

// Returns the article as a reader sees its page, every text field byte for byte:
//
//   <title>
//
//   [Image: <caption, else alt text>] Photo: <credit>     (when there is a lead image)
//
//   <subtitle>                                              (when set)
//
//   <body, exactly as stored>                               (when set)
//
//   By <author>, <author>                                   (when there are authors)
//   Published <YYYY-MM-DD>                                  (UTC; when publish_time is set)
//   Tags: <tag>, <tag>                                      (when there are tags)
//   To read more, please visit: <source name> <source uri>  (when there is a source)
//
//   Read <N> times                                          (always the last line)
//
// Absent parts take no lines; sections are separated by exactly one blank line. The last line is
// ReadCountLine(): the count is never invented when analytics did not answer.
[[nodiscard]] std::string RenderArticle(const newsroom::content::v1::Article& article);

// "Read N times" ("Read 1 time" for one), or "Read count unavailable" when `article` has no
// read_stats (analytics-service did not answer in time).
[[nodiscard]] std::string ReadCountLine(const newsroom::content::v1::Article& article);

// The publish date as YYYY-MM-DD in UTC, or "" when publish_time is unset.
[[nodiscard]] std::string PublishDate(const newsroom::content::v1::Article& article);

}  // namespace newsroom::cli
