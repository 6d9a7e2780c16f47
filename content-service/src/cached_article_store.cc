#include "content-service/src/cached_article_store.h"

#include <optional>
#include <utility>
#include <vector>

#include "common/src/status_macros.h"
#include "common/src/validation.h"

namespace newsroom::content {
namespace {

absl::string_view IdOf(const v1::Article& article) {
  return absl::string_view(article.name()).substr(kArticleNamePrefix.size());
}

}  // namespace

CachedArticleStore::CachedArticleStore(std::unique_ptr<ArticleStore> backend, Bounds bounds,
                                       bool suspended)
    : backend_(std::move(backend)),
      cache_listings_(bounds.listing_bytes > 0),
      resolution_wait_(bounds.resolution_wait),
      entries_(bounds.article_bytes),
      listings_(bounds.listing_bytes),
      suspended_(suspended) {}

std::optional<StoredArticle> CachedArticleStore::Lookup(absl::string_view article_id) {
  absl::MutexLock lock(&mutex_);
  // Suspended, the cache is empty: every lookup misses.
  const StoredArticle* article = entries_.FindAndMark(article_id);
  if (article == nullptr) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  return *article;
}

std::uint64_t CachedArticleStore::Generation() {
  absl::MutexLock lock(&mutex_);
  return generation_;
}

void CachedArticleStore::FillAfterMiss(absl::string_view article_id, const StoredArticle& article,
                                       std::uint64_t generation) {
  absl::MutexLock lock(&mutex_);
  if (generation_ != generation || suspended_) return;
  // Nothing was written since the miss began, so an entry there now holds these same bytes (a
  // batch's other articles, or a concurrent miss's): keep it, and with it the bytes that responses
  // in flight share and count once (StoredArticle::shared_bytes).
  // That entry is marked: this miss was a read of it too.
  if (entries_.FindAndMark(article_id) != nullptr) return;
  KeepLocked(article_id, article);
}

void CachedArticleStore::AfterWrite(absl::string_view article_id, const v1::Article* article,
                                    const StoredArticle* stored, std::uint64_t generation) {
  ListingCache::Dropped dropped;
  absl::MutexLock lock(&mutex_);
  // Writes through here are serialised, so only an announced change can have moved the
  // generation since this write began: possibly another writer's, of this article, committed
  // after ours. Then what this write left is not known to be current, and is not cached.
  const bool unchanged = generation_ == generation;
  ++generation_;
  // This write is known in full, so only the pages it alters go (that announced change, if any,
  // takes its own out).
  dropped = listings_.TakeAffected(article_id, article);
  if (stored != nullptr && unchanged && !suspended_) {
    KeepLocked(article_id, *stored);
  } else {
    entries_.Erase(article_id);
  }
}

ListingCache::Dropped CachedArticleStore::DropAllListingsLocked() {
  unresolved_.clear();
  return listings_.TakeAll();
}

void CachedArticleStore::Invalidate(absl::string_view article_id) {
  ListingCache::Dropped dropped;
  Articles cleared(0);
  absl::MutexLock lock(&mutex_);
  ++generation_;
  if (article_id.empty()) {
    dropped = DropAllListingsLocked();
    cleared = entries_.TakeAll();
    return;
  }
  entries_.Erase(article_id);
  // The pages that listed the article go now. Where it stands after the change is not announced,
  // so the pages it may have moved into go once that is read (ResolveAnnouncedChanges); until
  // then no page is served. With no page kept there is nothing to resolve: a page read from now
  // on is read after the change, and one read before it is not kept (the generation).
  if (unresolved_.size() >= kMaxUnresolvedChanges) {
    dropped = DropAllListingsLocked();  // a burst of changes: a query per page is cheaper
    return;
  }
  dropped = listings_.TakeAffected(article_id, nullptr);
  if (listings_.entries() > 0) unresolved_.insert(std::string(article_id));
}

void CachedArticleStore::ResolveAnnouncedChanges() {
  std::vector<std::string> article_ids;
  {
    absl::MutexLock lock(&mutex_);
    if (unresolved_.empty()) return;
    if (listings_.entries() == 0) {  // the pages went meanwhile (evicted): nothing to check
      unresolved_.clear();
      return;
    }
    article_ids.assign(unresolved_.begin(), unresolved_.end());
    unresolved_.clear();
    ++resolving_;
  }
  // Each article as it stands now; one that is missing was deleted, and the pages that listed it
  // went when its change was announced.
  const absl::StatusOr<std::vector<v1::Article>> now = backend_->BatchGet(article_ids);
  std::vector<ListingCache::Dropped> dropped;
  absl::MutexLock lock(&mutex_);
  --resolving_;
  if (!now.ok()) {
    dropped.push_back(DropAllListingsLocked());
    return;
  }
  // A later change to one of these is announced, and resolved, in its turn.
  for (const v1::Article& article : *now) {
    dropped.push_back(listings_.TakeAffected(IdOf(article), &article));
  }
}

void CachedArticleStore::Suspend() {
  ListingCache::Dropped dropped;
  Articles cleared(0);
  absl::MutexLock lock(&mutex_);
  ++generation_;
  dropped = DropAllListingsLocked();
  suspended_ = true;
  cleared = entries_.TakeAll();
}

void CachedArticleStore::Resume() {
  ListingCache::Dropped dropped;
  absl::MutexLock lock(&mutex_);
  // A read that began while suspended may have found an article as it was before a change that
  // was never announced: the new generation keeps it out.
  ++generation_;
  dropped = DropAllListingsLocked();
  suspended_ = false;
}

absl::Status CachedArticleStore::Create(const v1::Article& article) {
  // The stored form leaves read_stats out, as the store does.
  NEWSROOM_ASSIGN_OR_RETURN(const StoredArticle stored, StoredArticle::FromArticle(article));
  absl::MutexLock write_lock(&write_mutex_);
  const std::uint64_t generation = Generation();
  absl::Status status = backend_->Create(article);
  if (status.ok()) AfterWrite(IdOf(article), &article, &stored, generation);
  return status;
}

absl::StatusOr<v1::Article> CachedArticleStore::Get(absl::string_view article_id) {
  NEWSROOM_ASSIGN_OR_RETURN(const StoredArticle stored, GetStored(article_id));
  return stored.Parse();
}

absl::StatusOr<StoredArticle> CachedArticleStore::GetStored(absl::string_view article_id) {
  if (auto cached = Lookup(article_id)) return *std::move(cached);
  const std::uint64_t generation = Generation();
  absl::StatusOr<StoredArticle> article = backend_->GetStored(article_id);
  if (article.ok()) FillAfterMiss(article_id, *article, generation);
  return article;
}

absl::StatusOr<std::vector<v1::Article>> CachedArticleStore::BatchGet(
    const std::vector<std::string>& article_ids) {
  std::vector<v1::Article> articles;
  articles.reserve(article_ids.size());
  for (const std::string& id : article_ids) {
    auto cached = Lookup(id);
    if (!cached) {
      // One miss: let the backend answer the whole batch in its single query.
      const std::uint64_t generation = Generation();
      auto fetched = backend_->BatchGet(article_ids);
      if (fetched.ok()) {
        for (const auto& article : *fetched) {
          if (auto stored = StoredArticle::FromArticle(article); stored.ok()) {
            FillAfterMiss(IdOf(article), *stored, generation);
          }
        }
      }
      return fetched;
    }
    NEWSROOM_ASSIGN_OR_RETURN(v1::Article article, cached->Parse());
    articles.push_back(std::move(article));
  }
  return articles;
}

absl::Status CachedArticleStore::Replace(const v1::Article& article,
                                         absl::string_view expected_etag) {
  NEWSROOM_ASSIGN_OR_RETURN(const StoredArticle stored, StoredArticle::FromArticle(article));
  absl::MutexLock write_lock(&write_mutex_);
  const std::uint64_t generation = Generation();
  absl::Status status = backend_->Replace(article, expected_etag);
  if (status.ok()) {
    AfterWrite(IdOf(article), &article, &stored, generation);
  } else if (status.code() == absl::StatusCode::kNotFound) {
    AfterWrite(IdOf(article), nullptr, nullptr, generation);
  }
  return status;
}

absl::Status CachedArticleStore::Delete(absl::string_view article_id) {
  absl::MutexLock write_lock(&write_mutex_);
  absl::Status status = backend_->Delete(article_id);
  // NOT_FOUND too: whatever the cache held under this id is gone from the store.
  if (status.ok() || status.code() == absl::StatusCode::kNotFound) {
    AfterWrite(article_id, nullptr, nullptr, Generation());
  }
  return status;
}

absl::StatusOr<ArticlePage> CachedArticleStore::List(const ListQuery& query) {
  std::shared_ptr<const ArticlePage> kept;
  std::uint64_t generation = 0;
  if (cache_listings_) {
    bool resolve = false;
    {
      absl::MutexLock lock(&mutex_);
      resolve = !unresolved_.empty();
      if (!resolve) FindListingLocked(query, kept, generation);
    }
    if (resolve) {
      ResolveAnnouncedChanges();
      absl::MutexLock lock(&mutex_);
      FindListingLocked(query, kept, generation);
    }
  }
  if (kept) return *kept;  // the copy made outside the lock
  NEWSROOM_ASSIGN_OR_RETURN(ArticlePage page, backend_->List(query));
  ShareCachedBytes(page.articles);
  if (cache_listings_) KeepListing(query, page, generation);
  return page;
}

void CachedArticleStore::FindListingLocked(const ListQuery& query,
                                           std::shared_ptr<const ArticlePage>& kept,
                                           std::uint64_t& generation) {
  // Another List is reading where announced changes moved their articles: one round trip to the
  // store. Waiting for it costs this call about what reading the page itself would, and spares
  // the store that read; every List arriving meanwhile would make one.
  if (resolving_ > 0) {
    ++listing_waits_;
    mutex_.AwaitWithTimeout(absl::Condition(this, &CachedArticleStore::NotResolvingLocked),
                            resolution_wait_);
  }
  // While an announced change is unresolved, a page may lack the article it moved into it.
  if (unresolved_.empty() && resolving_ == 0) kept = listings_.Find(query);
  ++(kept ? listing_hits_ : listing_misses_);
  generation = generation_;
}

void CachedArticleStore::KeepListing(const ListQuery& query, ArticlePage page,
                                     std::uint64_t generation) {
  absl::MutexLock lock(&mutex_);
  // As FillAfterMiss: a read that began before a change may predate it. Suspended, nothing is kept.
  if (generation_ != generation || suspended_) return;
  listings_.Insert(query, std::move(page));
}

void CachedArticleStore::ShareCachedBytes(std::vector<ListedArticle>& listed) {
  std::vector<std::optional<StoredArticle>> cached(listed.size());
  {
    absl::MutexLock lock(&mutex_);
    for (std::size_t i = 0; i < listed.size(); ++i) {
      // Find, not FindAndMark: a listing leaves the cache's order as it was.
      if (const StoredArticle* article = entries_.Find(listed[i].position.article_id)) {
        cached[i] = *article;
      }
    }
  }
  // Compared outside the lock. Equal bytes are the same article, whenever either was read.
  for (std::size_t i = 0; i < listed.size(); ++i) {
    if (cached[i] && cached[i]->bytes() == listed[i].article.bytes()) {
      listed[i].article = *std::move(cached[i]);
    }
  }
}

absl::StatusOr<int64_t> CachedArticleStore::Count() { return backend_->Count(); }

CachedArticleStore::Counters CachedArticleStore::counters() const {
  absl::MutexLock lock(&mutex_);
  return {.hits = hits_,
          .misses = misses_,
          .entries = entries_.size(),
          .bytes = entries_.bytes(),
          .listing_hits = listing_hits_,
          .listing_misses = listing_misses_,
          .listing_entries = listings_.entries(),
          .listing_bytes = listings_.bytes(),
          .listing_waits = listing_waits_,
          .suspended = suspended_};
}

}  // namespace newsroom::content
