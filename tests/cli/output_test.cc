#include "cli/src/output.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"

namespace newsroom::cli {
namespace {

namespace v1 = ::newsroom::content::v1;

struct StatusCase {
  absl::Status status;
  std::string want;
};

TEST(FormatStatusTest, NamesTheCodeThenTheMessage) {
  const StatusCase cases[] = {
      {absl::NotFoundError("articles/x: article not found"),
       "NOT_FOUND: articles/x: article not found"},
      {absl::InvalidArgumentError("name: malformed"), "INVALID_ARGUMENT: name: malformed"},
      {absl::UnavailableError("failed to connect to all addresses"),
       "UNAVAILABLE: failed to connect to all addresses"},
      {absl::DeadlineExceededError("Deadline Exceeded"), "DEADLINE_EXCEEDED: Deadline Exceeded"},
      {absl::AlreadyExistsError("articles/x"), "ALREADY_EXISTS: articles/x"},
      {absl::AbortedError("etag"), "ABORTED: etag"},
      {absl::ResourceExhaustedError("too big"), "RESOURCE_EXHAUSTED: too big"},
      {absl::PermissionDeniedError("no"), "PERMISSION_DENIED: no"},
      {absl::UnauthenticatedError("who"), "UNAUTHENTICATED: who"},
      {absl::FailedPreconditionError("p"), "FAILED_PRECONDITION: p"},
      {absl::OutOfRangeError("r"), "OUT_OF_RANGE: r"},
      {absl::UnimplementedError("u"), "UNIMPLEMENTED: u"},
      {absl::InternalError("i"), "INTERNAL: i"},
      {absl::DataLossError("d"), "DATA_LOSS: d"},
      {absl::CancelledError("c"), "CANCELLED: c"},
      {absl::UnknownError("k"), "UNKNOWN: k"},
      {absl::Status(absl::StatusCode::kNotFound, ""), "NOT_FOUND"},
      {absl::InternalError("two\nlines\r\n"), "INTERNAL: two lines  "},
  };
  for (const StatusCase& c : cases) {
    EXPECT_EQ(FormatStatus(c.status), c.want);
  }
}

TEST(FormatListLineTest, IsTabSeparatedWithReadCount) {
  v1::Article article;
  article.set_name("articles/a");
  article.set_title("Заголовок 🌉");
  article.mutable_publish_time()->set_seconds(1688947200);
  article.mutable_read_stats()->set_reads(1);
  EXPECT_EQ(FormatListLine(article), "articles/a\t2023-07-10\tЗаголовок 🌉\tRead 1 time");
  article.clear_publish_time();
  article.clear_read_stats();
  EXPECT_EQ(FormatListLine(article), "articles/a\t-\tЗаголовок 🌉\tRead count unavailable");
}

TEST(FormatTopLineTest, IsRankReadsTitleName) {
  v1::MostReadArticle entry;
  entry.set_reads(42);
  entry.mutable_article()->set_name("articles/b");
  entry.mutable_article()->set_title("Bee");
  EXPECT_EQ(FormatTopLine(3, entry), "3\t42\tBee\tarticles/b");
}

}  // namespace
}  // namespace newsroom::cli
