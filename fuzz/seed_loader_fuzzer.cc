// The sample-article loader (content-service/src/seed_loader.h) on arbitrary file contents. The
// bytes go into an in-memory file (memfd) read through /proc/self/fd, so the loader's own
// file-handling path runs and nothing touches the disk. A file that loads must hold articles that
// survive a JSON round trip unchanged; every article is then validated as seeding does.

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "content-service/src/article_rules.h"
#include "content-service/src/seed_loader.h"
#include "fuzz/fuzz_check.h"

namespace {

namespace content = ::newsroom::content;
namespace content_v1 = ::newsroom::content::v1;

int seed_fd = -1;
std::string seed_path;

void CheckRoundTrip(const std::vector<content_v1::Article>& articles) {
  content_v1::ListArticlesResponse list;
  for (const auto& article : articles) *list.add_articles() = article;
  std::string json;
  FUZZ_CHECK(google::protobuf::util::MessageToJsonString(list, &json).ok());
  content_v1::ListArticlesResponse reparsed;
  FUZZ_CHECK(google::protobuf::util::JsonStringToMessage(json, &reparsed).ok());
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(reparsed, list));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  google::protobuf::SetLogHandler(nullptr);
  seed_fd = memfd_create("seed-loader-fuzzer", MFD_CLOEXEC);
  FUZZ_CHECK(seed_fd >= 0);
  seed_path = "/proc/self/fd/" + std::to_string(seed_fd);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FUZZ_CHECK(ftruncate(seed_fd, 0) == 0);
  FUZZ_CHECK(pwrite(seed_fd, data, size, 0) == static_cast<ssize_t>(size));
  const absl::StatusOr<std::vector<content_v1::Article>> articles =
      content::LoadSeedArticles(seed_path);
  if (!articles.ok()) {
    FUZZ_CHECK(articles.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StrContains(articles.status().message(), seed_path));
    return 0;
  }
  CheckRoundTrip(*articles);
  for (const auto& article : *articles) (void)content::ValidateArticleContent(article);
  return 0;
}
