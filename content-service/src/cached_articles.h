#pragma once

#include <cstddef>
#include <list>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "content-service/src/stored_article.h"

namespace newsroom::content {

// The articles CachedArticleStore keeps, within a bound on their stored bytes. When a new one does
// not fit, the oldest go first, except that an article read since it was last considered gets a
// second chance: it goes to the back of the queue instead (the CLOCK policy, as a queue).
//
// Why not evict arbitrary entries: a readership is skewed (a few articles take most views), and an
// article read every second must not go whenever a one-off read brings in another. Why not exact
// LRU: that would relink an article's list node and its neighbours' on every page view; here a view
// only sets a flag in the article's own entry, and an article is moved at most once per pass.
//
// Not thread-safe: CachedArticleStore holds its lock around every call.
class CachedArticles final {
 public:
  explicit CachedArticles(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  // A moved-from cache is empty, with the same bound: still usable.
  CachedArticles(CachedArticles&& other) noexcept;
  CachedArticles& operator=(CachedArticles&& other) noexcept;

  // The article if kept, else null, marked as read, so that it gets a second chance. The pointer is
  // valid until the next call that changes the cache.
  [[nodiscard]] const StoredArticle* FindAndMark(absl::string_view article_id);
  // The article if kept, else null, without marking it: for reads that must leave the cache's
  // order as it was.
  [[nodiscard]] const StoredArticle* Find(absl::string_view article_id) const;
  [[nodiscard]] bool contains(absl::string_view article_id) const {
    return index_.contains(article_id);
  }

  // Keeps `article` under `article_id`, replacing any article kept there, after evicting what it
  // takes to stay within the bound. An article larger than the whole bound is not kept.
  void Insert(absl::string_view article_id, const StoredArticle& article);
  void Erase(absl::string_view article_id);

  // Empties this cache, returning what it held so that the caller can free it later (outside a
  // lock).
  [[nodiscard]] CachedArticles TakeAll();

  [[nodiscard]] std::size_t size() const { return index_.size(); }
  // The stored bytes of the articles kept (the bound's measure; not the bookkeeping's).
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

 private:
  struct Entry {
    std::string article_id;
    StoredArticle article;
    bool read_since_considered = false;
  };
  using Queue = std::list<Entry>;

  // Evicts the front entry, or moves it to the back with its mark cleared if it was read since.
  void ConsiderOldest();
  void EraseEntry(Queue::iterator entry);

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  // Oldest first. A list, so that entries stay where they are when others move: the index's keys
  // view the entries' ids.
  Queue queue_;
  absl::flat_hash_map<absl::string_view, Queue::iterator> index_;
};

}  // namespace newsroom::content
