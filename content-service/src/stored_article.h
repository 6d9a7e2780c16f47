#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/src/memory_budget.h"
#include "newsroom/analytics/v1/analytics_service.pb.h"
#include "newsroom/content/v1/content_service.pb.h"

namespace newsroom::content {

// An article in the form the stores keep it: the wire-format bytes of an Article without
// read_stats (which lives in analytics-service). The page-view path sends these bytes on as they
// are, so that a view costs neither a parse nor a serialization nor a copy of every field.
// Immutable; copies share the bytes.
class StoredArticle final {
 public:
  // The stored form of `article`, leaving out its read_stats. INVALID_ARGUMENT when it is too large
  // to serialize.
  [[nodiscard]] static absl::StatusOr<StoredArticle> FromArticle(const v1::Article& article);

  // Takes bytes that a store read back: what FromArticle made when the article was written.
  explicit StoredArticle(std::string bytes);

  [[nodiscard]] absl::string_view bytes() const { return shared_->bytes; }

  // These bytes as a response in flight holds them: counted in a MemoryBudget once, however many
  // responses (and copies of this object) refer to them at once. Every copy returns the same.
  [[nodiscard]] std::shared_ptr<MemoryBudget::SharedBytes> shared_bytes() const {
    return {shared_, &shared_->in_flight};  // sharing the bytes' ownership
  }

  // The article these bytes encode; INTERNAL when they do not parse (a corrupt store).
  [[nodiscard]] absl::StatusOr<v1::Article> Parse() const;

 private:
  struct Shared {
    explicit Shared(std::string bytes_in)
        : bytes(std::move(bytes_in)), in_flight(static_cast<std::int64_t>(bytes.size())) {}
    const std::string bytes;
    MemoryBudget::SharedBytes in_flight;
  };
  std::shared_ptr<Shared> shared_;  // never null
};

// Parses the stored bytes of an article; INTERNAL when they do not parse (a corrupt store).
[[nodiscard]] absl::StatusOr<v1::Article> ParseStoredArticle(absl::string_view bytes);

// An article as GetArticle and ReadArticle answer it: as stored, and its read stats when analytics
// answered in time.
struct ArticleWithStats {
  StoredArticle article;
  std::optional<analytics::v1::ReadStats> read_stats;
  // The hold on the article's bytes from ContentServiceOptions' max_response_bytes_in_flight,
  // counted once however many responses carry the same bytes; the response's slice keeps it until
  // gRPC drops it (ArticleResponseBytes). Empty for the articles of a page, whose page holds one
  // grant of all its bytes.
  MemoryBudget::SharedHold article_bytes;
};

// A page of ListArticles as it is answered: its articles as stored, each with its read stats when
// analytics answered in time, and the next page's token (empty on the last page).
struct ArticlePageWithStats {
  std::vector<ArticleWithStats> articles;
  std::string next_page_token;
  // The grant of all the page's bytes, held by its last slice until gRPC drops it.
  MemoryBudget::Grant response_bytes;
};

// The wire-format bytes of Article's read_stats field holding `stats`. Appended to the bytes of an
// Article without read_stats they make the bytes of that article with these stats: a parser takes
// a field wherever it comes, and read_stats, Article's highest field number, is also the one a
// serializer writes last.
[[nodiscard]] std::string ReadStatsField(analytics::v1::ReadStats stats);

}  // namespace newsroom::content
