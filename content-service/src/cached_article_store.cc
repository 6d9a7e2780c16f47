#include "content-service/src/cached_article_store.h"

#include <utility>

#include "common/src/validation.h"

namespace newsroom::content {
namespace {

absl::string_view IdOf(const v1::Article& article) {
  return absl::string_view(article.name()).substr(kArticleNamePrefix.size());
}

}  // namespace

CachedArticleStore::CachedArticleStore(std::unique_ptr<ArticleStore> backend, std::size_t max_bytes)
    : backend_(std::move(backend)), max_bytes_(max_bytes) {}

std::shared_ptr<const v1::Article> CachedArticleStore::Lookup(absl::string_view article_id) {
  absl::MutexLock lock(&mutex_);
  const auto it = entries_.find(article_id);
  if (it == entries_.end()) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  return it->second.article;
}

void CachedArticleStore::InsertLocked(std::string article_id, const v1::Article& article) {
  EraseLocked(article_id);
  const std::size_t bytes = article.ByteSizeLong();
  if (bytes > max_bytes_) return;
  // Evicts arbitrary entries: the cache is sized to hold the working set, so which ones go when it
  // overflows matters less than keeping eviction O(1).
  while (bytes_ + bytes > max_bytes_ && !entries_.empty()) {
    bytes_ -= entries_.begin()->second.bytes;
    entries_.erase(entries_.begin());
  }
  bytes_ += bytes;
  entries_.emplace(std::move(article_id),
                   Entry{std::make_shared<const v1::Article>(article), bytes});
}

void CachedArticleStore::EraseLocked(absl::string_view article_id) {
  const auto it = entries_.find(article_id);
  if (it == entries_.end()) return;
  bytes_ -= it->second.bytes;
  entries_.erase(it);
}

void CachedArticleStore::FillAfterMiss(const v1::Article& article, std::uint64_t generation) {
  absl::MutexLock lock(&mutex_);
  if (generation_ != generation) return;
  InsertLocked(std::string(IdOf(article)), article);
}

void CachedArticleStore::AfterWrite(absl::string_view article_id, const v1::Article* article) {
  absl::MutexLock lock(&mutex_);
  ++generation_;
  if (article != nullptr) {
    InsertLocked(std::string(article_id), *article);
  } else {
    EraseLocked(article_id);
  }
}

absl::Status CachedArticleStore::Create(const v1::Article& article) {
  absl::MutexLock write_lock(&write_mutex_);
  absl::Status status = backend_->Create(article);
  if (status.ok()) {
    v1::Article stored = article;
    stored.clear_read_stats();  // the store never keeps stats; neither does its cache
    AfterWrite(IdOf(article), &stored);
  }
  return status;
}

absl::StatusOr<v1::Article> CachedArticleStore::Get(absl::string_view article_id) {
  if (auto cached = Lookup(article_id); cached != nullptr) return *cached;
  std::uint64_t generation;
  {
    absl::MutexLock lock(&mutex_);
    generation = generation_;
  }
  absl::StatusOr<v1::Article> article = backend_->Get(article_id);
  if (article.ok()) FillAfterMiss(*article, generation);
  return article;
}

absl::StatusOr<std::vector<v1::Article>> CachedArticleStore::BatchGet(
    const std::vector<std::string>& article_ids) {
  std::vector<v1::Article> articles;
  articles.reserve(article_ids.size());
  for (const std::string& id : article_ids) {
    auto cached = Lookup(id);
    if (cached == nullptr) {
      // One miss: let the backend answer the whole batch in its single query.
      std::uint64_t generation;
      {
        absl::MutexLock lock(&mutex_);
        generation = generation_;
      }
      auto fetched = backend_->BatchGet(article_ids);
      if (fetched.ok()) {
        for (const auto& article : *fetched) FillAfterMiss(article, generation);
      }
      return fetched;
    }
    articles.push_back(*cached);
  }
  return articles;
}

absl::Status CachedArticleStore::Replace(const v1::Article& article,
                                         absl::string_view expected_etag) {
  absl::MutexLock write_lock(&write_mutex_);
  absl::Status status = backend_->Replace(article, expected_etag);
  if (status.ok()) {
    v1::Article stored = article;
    stored.clear_read_stats();
    AfterWrite(IdOf(article), &stored);
  } else if (status.code() == absl::StatusCode::kNotFound) {
    AfterWrite(IdOf(article), nullptr);
  }
  return status;
}

absl::Status CachedArticleStore::Delete(absl::string_view article_id) {
  absl::MutexLock write_lock(&write_mutex_);
  absl::Status status = backend_->Delete(article_id);
  // NOT_FOUND too: whatever the cache held under this id is gone from the store.
  if (status.ok() || status.code() == absl::StatusCode::kNotFound) AfterWrite(article_id, nullptr);
  return status;
}

absl::StatusOr<ArticlePage> CachedArticleStore::List(const ListQuery& query) {
  return backend_->List(query);
}

absl::StatusOr<int64_t> CachedArticleStore::Count() { return backend_->Count(); }

CachedArticleStore::Counters CachedArticleStore::counters() const {
  absl::MutexLock lock(&mutex_);
  return {hits_, misses_, entries_.size(), bytes_};
}

}  // namespace newsroom::content
