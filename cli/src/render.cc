#include "cli/src/render.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace newsroom::cli {
namespace {

namespace v1 = ::newsroom::content::v1;

std::string ImageLine(const v1::Article& article) {
  if (!article.has_lead_image()) return "";
  const v1::Image& image = article.lead_image();
  const std::string& text = !image.caption().empty()    ? image.caption()
                            : !image.alt_text().empty() ? image.alt_text()
                                                        : image.uri();
  std::string line = text.empty() ? "[Image]" : absl::StrCat("[Image: ", text, "]");
  if (!image.credit().empty()) absl::StrAppend(&line, " Photo: ", image.credit());
  return line;
}

std::string FooterLines(const v1::Article& article) {
  std::vector<std::string> lines;
  if (article.authors_size() > 0) {
    lines.push_back(absl::StrCat("By ", absl::StrJoin(article.authors(), ", ")));
  }
  if (std::string date = PublishDate(article); !date.empty()) {
    lines.push_back(absl::StrCat("Published ", date));
  }
  if (article.tags_size() > 0) {
    lines.push_back(absl::StrCat("Tags: ", absl::StrJoin(article.tags(), ", ")));
  }
  if (article.has_source() &&
      (!article.source().name().empty() || !article.source().uri().empty())) {
    std::vector<std::string> parts;
    if (!article.source().name().empty()) parts.push_back(article.source().name());
    if (!article.source().uri().empty()) parts.push_back(article.source().uri());
    lines.push_back(absl::StrCat("To read more, please visit: ", absl::StrJoin(parts, " ")));
  }
  return absl::StrJoin(lines, "\n");
}

// Appends `section` followed by one blank line. The section is kept byte for byte; only the line
// breaks it lacks are added, so a body that already ends in a newline gets no extra blank line.
void AppendSection(std::string* page, const std::string& section) {
  if (section.empty()) return;
  page->append(section);
  if (!absl::EndsWith(*page, "\n")) page->push_back('\n');
  if (!absl::EndsWith(*page, "\n\n")) page->push_back('\n');
}

}  // namespace

std::string PublishDate(const v1::Article& article) {
  if (!article.has_publish_time()) return "";
  absl::Time time = absl::FromUnixSeconds(article.publish_time().seconds()) +
                    absl::Nanoseconds(article.publish_time().nanos());
  return absl::FormatTime("%Y-%m-%d", time, absl::UTCTimeZone());
}

std::string ReadCountLine(const v1::Article& article) {
  if (!article.has_read_stats()) return "Read count unavailable";
  const int64_t reads = article.read_stats().reads();
  return absl::StrCat("Read ", reads, reads == 1 ? " time" : " times");
}

std::string RenderArticle(const v1::Article& article) {
  std::string page = absl::StrCat(article.title(), "\n\n");
  AppendSection(&page, ImageLine(article));
  AppendSection(&page, article.subtitle());
  AppendSection(&page, article.body());
  AppendSection(&page, FooterLines(article));
  absl::StrAppend(&page, ReadCountLine(article), "\n");
  return page;
}

}  // namespace newsroom::cli
