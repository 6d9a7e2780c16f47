#include "content-service/src/listing_cache.h"

#include <utility>

namespace newsroom::content {

ListingCache::Key ListingCache::KeyOf(const ListQuery& query) {
  Key key{.limit = query.limit, .tag = query.tag};
  if (query.after) {
    key.has_after = true;
    key.after_seconds = query.after->publish_time.seconds();
    key.after_nanos = query.after->publish_time.nanos();
    key.after_id = query.after->article_id;
  }
  return key;
}

std::size_t ListingCache::PageBytes(const ListQuery& query, const ArticlePage& page) {
  // The shared pointer's control block and the table's slots (at least half full): about 100.
  constexpr std::size_t kPerEntry = 100;
  std::size_t bytes =
      2 * (sizeof(Key) + sizeof(Entry)) + sizeof(ArticlePage) + kPerEntry + query.tag.size();
  if (query.after) bytes += query.after->article_id.size();
  for (const ListedArticle& listed : page.articles) {
    bytes +=
        sizeof(ListedArticle) + listed.position.article_id.size() + listed.article.bytes().size();
  }
  return bytes;
}

std::shared_ptr<const ArticlePage> ListingCache::Find(const ListQuery& query) const {
  if (pages_.empty()) return nullptr;
  const auto it = pages_.find(KeyOf(query));
  return it == pages_.end() ? nullptr : it->second.page;
}

void ListingCache::Insert(const ListQuery& query, ArticlePage page) {
  page.articles.shrink_to_fit();  // PageBytes counts the size: leave no spare capacity uncounted
  const std::size_t bytes = PageBytes(query, page);
  if (bytes > max_bytes_) return;
  Key key = KeyOf(query);
  if (const auto it = pages_.find(key); it != pages_.end()) {
    bytes_ -= it->second.bytes;
    pages_.erase(it);
  }
  // Evicts arbitrary pages, as the article cache does: the bound is sized to hold the listings
  // readers are served (front pages, sections), so keeping eviction cheap matters more than which.
  // A flood of other listings (deep cursors, page sizes, tags) may evict those; each eviction costs
  // one query later, and every listing that caused it was a query already.
  while (bytes_ + bytes > max_bytes_ && !pages_.empty()) {
    bytes_ -= pages_.begin()->second.bytes;
    pages_.erase(pages_.begin());
  }
  bytes_ += bytes;
  pages_.emplace(std::move(key),
                 Entry{std::make_shared<const ArticlePage>(std::move(page)), bytes});
}

ListingCache::Dropped ListingCache::TakeAll() {
  bytes_ = 0;
  return Dropped(std::exchange(pages_, Pages()));
}

}  // namespace newsroom::content
