// Article rules (content-service/src/article_rules.h) on requests parsed from raw bytes, as the
// service receives them: the first byte picks CreateArticle (validation) or UpdateArticle (update
// mask), the rest is the serialized request.

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "common/src/validation.h"
#include "content-service/src/article_rules.h"
#include "fuzz/fuzz_check.h"

namespace {

namespace content = ::newsroom::content;
namespace content_v1 = ::newsroom::content::v1;
using ::google::protobuf::util::MessageDifferencer;

// The documented bounds of the fields a client sets, checked directly on an accepted article.
void CheckAcceptedArticle(const content_v1::Article& article) {
  FUZZ_CHECK(!article.title().empty() && article.title().size() <= content::kMaxTitleBytes);
  FUZZ_CHECK(newsroom::IsValidUtf8(article.title()));
  FUZZ_CHECK(article.body().size() <= content::kMaxBodyBytes);
  FUZZ_CHECK(article.tags_size() <= content::kMaxTags);
  absl::flat_hash_set<std::string> tags;
  for (const std::string& tag : article.tags()) {
    FUZZ_CHECK(newsroom::IsValidArticleId(tag));
    FUZZ_CHECK(tags.insert(tag).second);
  }
  FUZZ_CHECK(article.authors_size() <= content::kMaxAuthors);
  for (const std::string& author : article.authors()) {
    FUZZ_CHECK(!author.empty() && author.size() <= content::kMaxAuthorBytes);
  }
  for (const std::string* uri : {&article.lead_image().uri(), &article.source().uri()}) {
    FUZZ_CHECK(uri->empty() || uri->rfind("http://", 0) == 0 || uri->rfind("https://", 0) == 0);
  }
}

void CheckCreate(const std::string& bytes) {
  content_v1::CreateArticleRequest request;
  if (!request.ParseFromString(bytes)) return;  // gRPC refuses these before any handler
  const absl::Status status = content::ValidateArticleContent(request.article());
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(status.message().rfind("article.", 0) == 0);
    return;
  }
  CheckAcceptedArticle(request.article());
  // What was accepted survives the store's serialized round trip and is still accepted.
  content_v1::Article reparsed;
  FUZZ_CHECK(reparsed.ParseFromString(request.article().SerializeAsString()));
  FUZZ_CHECK(MessageDifferencer::Equals(reparsed, request.article()));
  FUZZ_CHECK(content::ValidateArticleContent(reparsed).ok());
}

// An update never changes the output-only fields of the stored article.
void CheckUpdate(const std::string& bytes) {
  content_v1::UpdateArticleRequest request;
  if (!request.ParseFromString(bytes)) return;
  content_v1::Article current;
  current.set_name("articles/stored");
  current.set_title("Stored");
  current.set_etag("0123456789abcdef");
  current.mutable_create_time()->set_seconds(1700000000);
  current.mutable_update_time()->set_seconds(1700000001);
  current.mutable_read_stats()->set_reads(7);
  const absl::StatusOr<content_v1::Article> updated =
      content::ApplyUpdateMask(current, request.article(), request.update_mask());
  if (!updated.ok()) {
    FUZZ_CHECK(updated.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(updated->name() == current.name());
  FUZZ_CHECK(updated->etag() == current.etag());
  FUZZ_CHECK(MessageDifferencer::Equals(updated->create_time(), current.create_time()));
  FUZZ_CHECK(MessageDifferencer::Equals(updated->update_time(), current.update_time()));
  FUZZ_CHECK(MessageDifferencer::Equals(updated->read_stats(), current.read_stats()));
  // The service validates the result; that must not crash whatever the patch held.
  (void)content::ValidateArticleContent(*updated);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // Protobuf logs every string field that is not UTF-8; the fuzzer makes millions of those.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    CheckCreate(bytes);
  } else {
    CheckUpdate(bytes);
  }
  return 0;
}
