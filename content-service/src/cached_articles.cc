#include "content-service/src/cached_articles.h"

#include <iterator>
#include <utility>

namespace newsroom::content {

CachedArticles::CachedArticles(CachedArticles&& other) noexcept
    : max_bytes_(other.max_bytes_),
      bytes_(std::exchange(other.bytes_, 0)),
      queue_(std::move(other.queue_)),
      index_(std::move(other.index_)) {
  other.queue_.clear();
  other.index_.clear();
}

CachedArticles& CachedArticles::operator=(CachedArticles&& other) noexcept {
  if (this == &other) return *this;
  max_bytes_ = other.max_bytes_;
  bytes_ = std::exchange(other.bytes_, 0);
  // The index views the ids in the queue's entries: a moved list keeps its nodes, so the moved
  // index's views stay valid.
  queue_ = std::move(other.queue_);
  index_ = std::move(other.index_);
  other.queue_.clear();
  other.index_.clear();
  return *this;
}

const StoredArticle* CachedArticles::FindAndMark(absl::string_view article_id) {
  const auto it = index_.find(article_id);
  if (it == index_.end()) return nullptr;
  it->second->read_since_considered = true;
  return &it->second->article;
}

const StoredArticle* CachedArticles::Find(absl::string_view article_id) const {
  const auto it = index_.find(article_id);
  return it == index_.end() ? nullptr : &it->second->article;
}

void CachedArticles::Insert(absl::string_view article_id, const StoredArticle& article) {
  Erase(article_id);
  const std::size_t article_bytes = article.bytes().size();
  if (article_bytes > max_bytes_) return;
  // Ends: each entry is moved back at most once before every mark is cleared, and then evicted.
  while (bytes_ + article_bytes > max_bytes_) ConsiderOldest();
  queue_.push_back(Entry{.article_id = std::string(article_id), .article = article});
  const auto entry = std::prev(queue_.end());
  index_.emplace(entry->article_id, entry);
  bytes_ += article_bytes;
}

void CachedArticles::Erase(absl::string_view article_id) {
  const auto it = index_.find(article_id);
  if (it != index_.end()) EraseEntry(it->second);
}

CachedArticles CachedArticles::TakeAll() {
  return std::exchange(*this, CachedArticles(max_bytes_));
}

void CachedArticles::ConsiderOldest() {
  const auto oldest = queue_.begin();
  if (!oldest->read_since_considered) {
    EraseEntry(oldest);
    return;
  }
  oldest->read_since_considered = false;
  queue_.splice(queue_.end(), queue_, oldest);
}

void CachedArticles::EraseEntry(Queue::iterator entry) {
  bytes_ -= entry->article.bytes().size();
  index_.erase(entry->article_id);  // before the id it views goes
  queue_.erase(entry);
}

}  // namespace newsroom::content
