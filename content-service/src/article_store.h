#pragma once

// The storage interface behind content-service. SqliteArticleStore implements it; a PostgreSQL
// store can sit beside it with the same semantics and status codes.

#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "content-service/src/stored_article.h"
#include "newsroom/content/v1/content_service.pb.h"

namespace newsroom::content {

// A position in the listing order: the last article of the previous page. Listing resumes strictly
// after it, so an article deleted or added meanwhile never causes gaps or repeats.
struct ListCursor {
  google::protobuf::Timestamp publish_time;
  std::string article_id;
};

struct ListQuery {
  // Maximum number of articles to return; must be at least 1.
  int limit = 20;
  // When not empty, only articles carrying this tag.
  std::string tag;
  // When set, only articles strictly after this position.
  std::optional<ListCursor> after;
};

// An article as List returns it: its bytes as stored (ListArticles sends them on without a parse),
// and its position in the listing order, read from the columns the query sorts by.
struct ListedArticle {
  ListCursor position;
  StoredArticle article;
};

struct ArticlePage {
  // In listing order: newest publish_time first, ties by article_id descending. The last one's
  // position is the cursor of the next page.
  std::vector<ListedArticle> articles;
  // True when at least one more article follows the last one returned.
  bool has_more = false;
  // When has_more: the position of the first article after the page (the row that told); a store
  // sets it whenever it sets has_more. With the query's cursor it bounds the stretch of the listing
  // order the page answers for, which is what lets a cache keep the page across changes elsewhere
  // (ListingCache::TakeAffected).
  std::optional<ListCursor> next;
};

// Persistent articles, keyed by article id (the `{article_id}` of `articles/{article_id}`).
//
// Every method is thread-safe. Articles are stored and returned byte for byte, except that
// `read_stats` is never stored (it lives in analytics-service) and so is never returned. Storage
// failures are INTERNAL (UNAVAILABLE when the store is busy or locked past its timeout, which is
// worth retrying), with short messages that carry no query text.
class ArticleStore {
 public:
  virtual ~ArticleStore() = default;

  // Inserts `article`, which the caller has completed: `name` (`articles/{article_id}`),
  // create/update/publish times and etag. Returns ALREADY_EXISTS if the name is taken and
  // INVALID_ARGUMENT if `name` is not a well-formed article name.
  [[nodiscard]] virtual absl::Status Create(const v1::Article& article) = 0;

  // Returns the article with id `article_id`, or NOT_FOUND.
  [[nodiscard]] virtual absl::StatusOr<v1::Article> Get(absl::string_view article_id) = 0;

  // Get without the parse: the article's bytes as stored, or NOT_FOUND. For the page views, which
  // send them on as they are.
  [[nodiscard]] virtual absl::StatusOr<StoredArticle> GetStored(absl::string_view article_id) = 0;

  // Returns those of `article_ids` that exist, in request order: missing ids are skipped and
  // duplicated ids give duplicated articles. Reads all of them in one query (one snapshot).
  [[nodiscard]] virtual absl::StatusOr<std::vector<v1::Article>> BatchGet(
      const std::vector<std::string>& article_ids) = 0;

  // Replaces the article named `article.name` with `article` (which carries its new etag) only if
  // the stored etag equals `expected_etag`: a compare-and-set. Returns NOT_FOUND if there is no
  // such article, ABORTED if its etag differs (someone changed it since it was read), and
  // INVALID_ARGUMENT if `name` is not a well-formed article name.
  [[nodiscard]] virtual absl::Status Replace(const v1::Article& article,
                                             absl::string_view expected_etag) = 0;

  // Deletes the article with id `article_id`, or returns NOT_FOUND.
  [[nodiscard]] virtual absl::Status Delete(absl::string_view article_id) = 0;

  // Returns up to `query.limit` articles, newest publish_time first and ties by article_id
  // descending, filtered by `query.tag` when set and strictly after `query.after` when set.
  // Returns INVALID_ARGUMENT if `query.limit` is less than 1.
  [[nodiscard]] virtual absl::StatusOr<ArticlePage> List(const ListQuery& query) = 0;

  // Returns the number of stored articles.
  [[nodiscard]] virtual absl::StatusOr<int64_t> Count() = 0;
};

}  // namespace newsroom::content
