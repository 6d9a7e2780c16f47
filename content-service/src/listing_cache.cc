#include "content-service/src/listing_cache.h"

#include <algorithm>
#include <tuple>
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
  // The page's entry in the cache (the queue's node, which holds the key, and the index's slot),
  // and the shared page's control block, which holds the ArticlePage.
  constexpr std::size_t kControlBlock = 16;
  std::size_t bytes =
      Pages::kBytesPerEntry + kControlBlock + sizeof(ArticlePage) + query.tag.size();
  if (query.after) bytes += query.after->article_id.size();
  if (page.next) bytes += page.next->article_id.size();
  for (const ListedArticle& listed : page.articles) {
    bytes +=
        sizeof(ListedArticle) + listed.position.article_id.size() + listed.article.bytes().size();
  }
  return bytes;
}

std::shared_ptr<const ArticlePage> ListingCache::Find(const ListQuery& query) {
  if (pages_.size() == 0) return nullptr;
  const auto* page = pages_.FindAndMark(KeyOf(query));
  return page == nullptr ? nullptr : *page;
}

void ListingCache::Insert(const ListQuery& query, ArticlePage page) {
  page.articles.shrink_to_fit();  // PageBytes counts the size: leave no spare capacity uncounted
  const std::size_t bytes = PageBytes(query, page);
  // A page too large to keep still drops the page kept for the same query, which it was read to
  // replace (SecondChanceCache::Insert).
  // A flood of other listings (deep cursors, page sizes, tags) evicts the pages readers are served
  // (front pages, sections) only once they go unread for a whole pass: each eviction costs one
  // query later, and every listing that caused it was a query already.
  pages_.Insert(KeyOf(query), std::make_shared<const ArticlePage>(std::move(page)), bytes);
}

ListingCache::Dropped ListingCache::TakeAll() {
  Dropped dropped;
  dropped.all_ = pages_.TakeAll();
  return dropped;
}

ListingCache::Dropped ListingCache::TakeAffected(absl::string_view article_id,
                                                 const v1::Article* now) {
  Dropped dropped;
  pages_.TakeIf(
      [&](const Key& key, const std::shared_ptr<const ArticlePage>& page) {
        return Affected(key, *page, article_id, now);
      },
      dropped.some_);
  return dropped;
}

bool ListingCache::Affected(const Key& key, const ArticlePage& page, absl::string_view article_id,
                            const v1::Article* now) {
  // A page that says more follow without saying where has no known end: any change may alter it
  // (whether more follow, at least). The stores always say where.
  if (page.has_more && !page.next) return true;
  // Before the change: in the stretch, the article is listed or is the page's `next`.
  if (page.next && page.next->article_id == article_id) return true;
  for (const ListedArticle& listed : page.articles) {
    if (listed.position.article_id == article_id) return true;
  }
  if (now == nullptr) return false;
  // After it: under the page's tag, and in its stretch. The listing order is descending on
  // (publish seconds, nanos, id), ids compared by bytes as both stores do.
  if (!key.tag.empty() &&
      std::find(now->tags().begin(), now->tags().end(), key.tag) == now->tags().end()) {
    return false;
  }
  const auto position =
      std::make_tuple(now->publish_time().seconds(), now->publish_time().nanos(), article_id);
  if (key.has_after && !(position < std::make_tuple(key.after_seconds, key.after_nanos,
                                                    absl::string_view(key.after_id)))) {
    return false;  // at or before the cursor: a page before this one
  }
  if (page.next) {
    const ListCursor& next = *page.next;
    return !(position < std::make_tuple(next.publish_time.seconds(), next.publish_time.nanos(),
                                        absl::string_view(next.article_id)));
  }
  return true;  // no `next`, and no more: the page runs to the end
}

}  // namespace newsroom::content
