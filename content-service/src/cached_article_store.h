#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content-service/src/article_store.h"
#include "content-service/src/listing_cache.h"
#include "content-service/src/second_chance_cache.h"

namespace newsroom::content {

// An ArticleStore in front of another that keeps recently read articles in memory, so the page-view
// path does not touch the database; when they pass their bound, SecondChanceCache says which go.
// Every write through here updates or drops the cached copy before it returns. Writes by others
// (replicas sharing PostgreSQL) are learnt of through Invalidate; while they might go unannounced
// (Suspend until Resume) nothing is served from or put in the cache. Articles are kept in their
// stored form: GetStored, the page-view path, shares them without a copy; Get and BatchGet parse
// them. List keeps whole pages (ListingCache), and a change drops the pages it can alter: those
// that list the article or end at it, and those it moves into. A write through here knows where the
// article moves; an announced change does not say, so the first List after it reads the article
// (ResolveAnnouncedChanges), and no page is served until that read is done: another List meanwhile
// waits for it (up to Bounds::resolution_wait) rather than read the store too. A page read from the
// backend swaps in the cached copy of each listed article whose bytes are the same
// (ShareCachedBytes), and neither fills the article cache nor counts in its hits and misses.
class CachedArticleStore final : public ArticleStore {
 public:
  struct Bounds {
    // The stored size of the cached articles.
    std::size_t article_bytes = 0;
    // The size of the cached pages of List (ListingCache::PageBytes); 0: no page is cached.
    std::size_t listing_bytes = 0;
    // How long a List waits for another's read of where announced changes moved articles
    // before reading the store itself. That read is one round trip (about a millisecond); the
    // bound keeps a slow or never-idle store (a stream of announcements) from holding a call
    // much longer than its own read would.
    absl::Duration resolution_wait = absl::Milliseconds(5);
  };

  // `backend` is owned. A cache whose backend others write to starts `suspended`, until their
  // changes are being announced (Resume).
  CachedArticleStore(std::unique_ptr<ArticleStore> backend, Bounds bounds, bool suspended = false);

  absl::Status Create(const v1::Article& article) override;
  absl::StatusOr<v1::Article> Get(absl::string_view article_id) override;
  absl::StatusOr<StoredArticle> GetStored(absl::string_view article_id) override;
  absl::StatusOr<std::vector<v1::Article>> BatchGet(
      const std::vector<std::string>& article_ids) override;
  absl::Status Replace(const v1::Article& article, absl::string_view expected_etag) override;
  absl::Status Delete(absl::string_view article_id) override;
  absl::StatusOr<ArticlePage> List(const ListQuery& query) override;
  absl::StatusOr<int64_t> Count() override;

  // Another writer changed `article_id` (empty: possibly every article). Drops the cached copy
  // and the pages that list the article or end at it, and keeps any read that began before this
  // call from caching what it found. Where the article now stands is read by the next List, which
  // serves no page until then. Reads nothing itself: it runs on the thread that hears
  // announcements. Thread-safe.
  void Invalidate(absl::string_view article_id);
  // Other writers' changes may go unannounced from now on: drops every cached article, and until
  // Resume every read goes to the backend and nothing is cached.
  void Suspend();
  // Other writers' changes are announced again (the announcements were set up before this call):
  // caching resumes, though not of what reads that began before this call found.
  void Resume();

  struct Counters {
    // Article lookups (GetStored, Get, BatchGet) and the articles cached.
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::size_t entries = 0;
    std::size_t bytes = 0;
    // List calls, and the pages cached.
    std::uint64_t listing_hits = 0;
    std::uint64_t listing_misses = 0;
    std::size_t listing_entries = 0;
    std::size_t listing_bytes = 0;
    // List calls that waited for another's read of where announced changes moved articles.
    std::uint64_t listing_waits = 0;
    bool suspended = false;
  };
  [[nodiscard]] Counters counters() const;

 private:
  // Articles by id, counted at their stored size.
  using Articles = SecondChanceCache<std::string, StoredArticle>;

  // Looks `article_id` up; counts a hit or a miss. Returns nullopt on a miss.
  std::optional<StoredArticle> Lookup(absl::string_view article_id);
  // The generation to pass to FillAfterMiss for a backend read starting now.
  std::uint64_t Generation();
  // Caches what the backend returned for a miss, unless a write happened since `generation`
  // (that read may predate the write, and must not overwrite what the write left behind) or the
  // article is cached already (that entry, whose bytes responses may share, is kept).
  void FillAfterMiss(absl::string_view article_id, const StoredArticle& article,
                     std::uint64_t generation);
  // Replaces the bytes of each listed article that the cache holds with the same bytes by the
  // cached copy, freeing the listing's: a page waiting for its stats then holds no bytes of its
  // own. Neither fills the cache nor counts a hit or a miss, so listings leave the cache's
  // contents and hit rate as they were.
  void ShareCachedBytes(std::vector<ListedArticle>& listed) ABSL_LOCKS_EXCLUDED(mutex_);
  // No resolution is in flight: the condition FindListingLocked waits for.
  bool NotResolvingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return resolving_ == 0; }
  // The page kept for `query` unless a change is unresolved (else null), counted as a hit or a
  // miss, and the generation to pass to KeepListing. Waits, up to resolution_wait_, for the
  // resolutions in flight to end.
  void FindListingLocked(const ListQuery& query, std::shared_ptr<const ArticlePage>& kept,
                         std::uint64_t& generation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // Keeps a page List read from the backend, unless anything changed since `generation`.
  void KeepListing(const ListQuery& query, ArticlePage page, std::uint64_t generation)
      ABSL_LOCKS_EXCLUDED(mutex_);
  // Reads where the articles of announced changes stand now (one BatchGet) and drops the pages
  // they moved into; all pages if the read fails.
  void ResolveAnnouncedChanges() ABSL_LOCKS_EXCLUDED(mutex_);
  // Drops every cached page, returned to be freed once the lock is released (declare it before
  // the lock), and with them any change left to resolve.
  [[nodiscard]] ListingCache::Dropped DropAllListingsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  // After a successful write that began at `generation`, of `article` (null: the article is gone)
  // stored as `stored`: replaces or drops the cached copy, and drops the pages the write alters.
  void AfterWrite(absl::string_view article_id, const v1::Article* article,
                  const StoredArticle* stored, std::uint64_t generation)
      ABSL_LOCKS_EXCLUDED(mutex_);
  // Caches `article`, counted at its stored size.
  void KeepLocked(absl::string_view article_id, const StoredArticle& article)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    entries_.Insert(std::string(article_id), article, article.bytes().size());
  }

  const std::unique_ptr<ArticleStore> backend_;
  const bool cache_listings_;
  const absl::Duration resolution_wait_;

  // Serialises writes, so the backend and the cache change in the same order.
  absl::Mutex write_mutex_;
  mutable absl::Mutex mutex_;
  Articles entries_ ABSL_GUARDED_BY(mutex_);
  ListingCache listings_ ABSL_GUARDED_BY(mutex_);
  // Articles whose changes were announced since the pages were checked against where they stand
  // now, and how many ResolveAnnouncedChanges are reading. Past kMaxUnresolvedChanges every page
  // goes instead, which bounds both the set and the read that resolves it.
  static constexpr std::size_t kMaxUnresolvedChanges = 64;
  absl::flat_hash_set<std::string> unresolved_ ABSL_GUARDED_BY(mutex_);
  int resolving_ ABSL_GUARDED_BY(mutex_) = 0;
  // Bumped by every write and every change announced, and on Suspend and Resume: a fill whose
  // read began before it is dropped, since the read may predate the change.
  std::uint64_t generation_ ABSL_GUARDED_BY(mutex_) = 0;
  bool suspended_ ABSL_GUARDED_BY(mutex_);
  std::uint64_t hits_ ABSL_GUARDED_BY(mutex_) = 0;
  std::uint64_t misses_ ABSL_GUARDED_BY(mutex_) = 0;
  std::uint64_t listing_hits_ ABSL_GUARDED_BY(mutex_) = 0;
  std::uint64_t listing_misses_ ABSL_GUARDED_BY(mutex_) = 0;
  std::uint64_t listing_waits_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace newsroom::content
