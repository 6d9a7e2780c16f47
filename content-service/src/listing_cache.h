#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "content-service/src/article_store.h"
#include "content-service/src/second_chance_cache.h"

namespace newsroom::content {

// Pages of ListArticles kept in memory, by query, within a bound on their size; when full, pages
// read since they were last considered get a second chance (SecondChanceCache), so that a crawl of
// deep cursors does not push out the front pages readers keep asking for. It decides nothing
// about freshness: CachedArticleStore owns one under its lock and takes out the pages each change
// it hears of can alter (TakeAffected), so a page here answers as the store would. Not
// thread-safe.
class ListingCache final {
 public:
  // `max_bytes` bounds what the pages count (ListingCache::PageBytes); 0 keeps nothing.
  explicit ListingCache(std::size_t max_bytes) : pages_(max_bytes) {}

  // Pages taken out by TakeAll, freed when this is destroyed: after the caller's lock is released.
  class Dropped;

  // The page kept for `query`, or null, marked as read. Shared, so the caller copies it outside any
  // lock.
  [[nodiscard]] std::shared_ptr<const ArticlePage> Find(const ListQuery& query);
  // Keeps `page` as the answer to `query`, evicting others to stay within the bound; a page larger
  // than the whole bound is not kept.
  void Insert(const ListQuery& query, ArticlePage page);
  // Empties the cache, handing the pages to the caller to free.
  [[nodiscard]] Dropped TakeAll();
  // Takes out the pages that a change to the article `article_id` can alter, handing them to the
  // caller to free. A page answers for a stretch of the listing order: the articles under its tag
  // after its cursor, up to and including its `next` (to the end when no more follow; a page that
  // says more follow without a `next` goes with any change). So a change
  // alters it only if the article stood in that stretch before the change, when the page lists it
  // or ends at it, or stands in it after, which `now` (the article after the change; null when it
  // was deleted or is not known yet) tells.
  [[nodiscard]] Dropped TakeAffected(absl::string_view article_id, const v1::Article* now);

  [[nodiscard]] std::size_t entries() const { return pages_.size(); }
  [[nodiscard]] std::size_t bytes() const { return pages_.bytes(); }

  // What a page counts against the bound: every article's bytes in full, though most are shared
  // with the article cache, plus what holds them (the page's entry in the cache, with a share of
  // its table). So the bound is one on the memory pages can add, and on how many there are (an
  // empty page counts a few hundred bytes).
  [[nodiscard]] static std::size_t PageBytes(const ListQuery& query, const ArticlePage& page);

 private:
  // A ListQuery as a key: the cursor flattened, since a Timestamp has no hash.
  struct Key {
    int limit = 0;
    std::string tag;
    bool has_after = false;
    std::int64_t after_seconds = 0;
    std::int32_t after_nanos = 0;
    std::string after_id;

    friend bool operator==(const Key&, const Key&) = default;
    template <typename H>
    friend H AbslHashValue(H state, const Key& key) {
      return H::combine(std::move(state), key.limit, key.tag, key.has_after, key.after_seconds,
                        key.after_nanos, key.after_id);
    }
  };
  using Pages = SecondChanceCache<Key, std::shared_ptr<const ArticlePage>>;
  static Key KeyOf(const ListQuery& query);
  // Whether the page kept under `key` can be altered by a change to `article_id` (TakeAffected).
  static bool Affected(const Key& key, const ArticlePage& page, absl::string_view article_id,
                       const v1::Article* now);

  Pages pages_;
};

class ListingCache::Dropped final {
 public:
  Dropped() = default;
  Dropped(Dropped&&) = default;
  Dropped& operator=(Dropped&&) = default;
  Dropped(const Dropped&) = delete;
  Dropped& operator=(const Dropped&) = delete;

 private:
  friend class ListingCache;
  Pages all_{0};
  std::vector<std::shared_ptr<const ArticlePage>> some_;
};

}  // namespace newsroom::content
