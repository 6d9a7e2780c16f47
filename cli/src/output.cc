#include "cli/src/output.h"

#include "absl/strings/str_cat.h"
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

}  // namespace newsroom::cli
