#include "cli/src/output.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/src/render.h"

namespace newsroom::cli {

std::string FormatStatus(const absl::Status& status) {
  std::string line = absl::StatusCodeToString(status.code());
  if (!status.message().empty()) absl::StrAppend(&line, ": ", status.message());
  // Errors are one line on stderr, whatever the server put in its message.
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return line;
}

std::string FormatListLine(const newsroom::content::v1::Article& article) {
  std::string date = PublishDate(article);
  return absl::StrCat(article.name(), "\t", date.empty() ? "-" : date, "\t", article.title(), "\t",
                      ReadCountLine(article));
}

std::string FormatTopLine(std::size_t rank, const newsroom::content::v1::MostReadArticle& entry) {
  return absl::StrCat(rank, "\t", entry.reads(), "\t", entry.article().title(), "\t",
                      entry.article().name());
}

std::string FormatWatchLine(const newsroom::analytics::v1::ReadStats& stats) {
  absl::string_view id = stats.article();
  absl::ConsumePrefix(&id, "articles/");
  return absl::StrCat(id, "\t", stats.reads(), stats.reads() == 1 ? " read" : " reads", "\t",
                      stats.unique_readers(),
                      stats.unique_readers() == 1 ? " unique reader" : " unique readers");
}

}  // namespace newsroom::cli
