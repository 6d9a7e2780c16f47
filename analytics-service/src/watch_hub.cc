#include "analytics-service/src/watch_hub.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace newsroom::analytics {
namespace {

bool operator!=(const ArticleCounts& a, const ArticleCounts& b) {
  return a.reads != b.reads || a.unique_readers != b.unique_readers;
}

void CallAll(std::vector<std::function<void()>>& wakes) {
  for (auto& wake : wakes) wake();
}

}  // namespace

bool WatchHub::HasBatch(const Watcher& watcher) {
  return watcher.finish.has_value() || (watcher.unknown == 0 && !watcher.pending.empty());
}

void WatchHub::MaybeWake(Watcher& watcher, std::vector<std::function<void()>>& wakes) {
  if (watcher.writer_active || !HasBatch(watcher)) return;
  watcher.writer_active = true;
  wakes.push_back(watcher.wake);
}

absl::StatusOr<WatchHub::WatcherId> WatchHub::Add(const std::vector<std::string>& article_ids,
                                                  std::function<void()> wake) {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::UnavailableError("server is shutting down; reconnect");
  if (max_watchers_ > 0 && watchers_.size() >= static_cast<std::size_t>(max_watchers_)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("server busy: ", max_watchers_, " watches open at once; retry with backoff"));
  }
  const WatcherId id = next_id_++;
  Watcher& watcher = watchers_[id];
  watcher.wake = std::move(wake);
  for (const std::string& article_id : article_ids) {
    auto [it, inserted] = articles_.try_emplace(article_id);
    Article& article = it->second;
    if (!article.watchers.insert(id).second) continue;  // a duplicate in the request
    watcher.article_ids.push_back(article_id);
    if (article.counts.has_value()) {
      watcher.pending[article_id] = *article.counts;
    } else {
      ++watcher.unknown;
      if (inserted) ++unknown_articles_;
    }
  }
  return id;
}

void WatchHub::Remove(WatcherId id) {
  absl::MutexLock lock(&mu_);
  auto watcher = watchers_.find(id);
  if (watcher == watchers_.end()) return;
  for (const std::string& article_id : watcher->second.article_ids) {
    auto article = articles_.find(article_id);
    if (article == articles_.end()) continue;
    article->second.watchers.erase(id);
    if (!article->second.watchers.empty()) continue;
    if (!article->second.counts.has_value()) --unknown_articles_;
    articles_.erase(article);
  }
  watchers_.erase(watcher);
}

WatchHub::Batch WatchHub::Next(WatcherId id) {
  absl::MutexLock lock(&mu_);
  Batch batch;
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return batch;
  Watcher& watcher = it->second;
  if (watcher.finish.has_value()) {
    batch.finish = watcher.finish;
    return batch;
  }
  if (!HasBatch(watcher)) {
    watcher.writer_active = false;
    return batch;
  }
  batch.updates.reserve(watcher.pending.size());
  for (const std::string& article_id : watcher.article_ids) {
    auto pending = watcher.pending.find(article_id);
    if (pending == watcher.pending.end()) continue;
    batch.updates.push_back({article_id, pending->second});
  }
  watcher.pending.clear();
  watcher.writer_active = true;
  return batch;
}

std::vector<std::string> WatchHub::WatchedArticles() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  ids.reserve(articles_.size());
  for (const auto& [article_id, article] : articles_) ids.push_back(article_id);
  return ids;
}

std::vector<std::string> WatchHub::UnknownArticles() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> ids;
  ids.reserve(unknown_articles_);
  for (const auto& [article_id, article] : articles_) {
    if (!article.counts.has_value()) ids.push_back(article_id);
  }
  return ids;
}

bool WatchHub::WaitForUnknownArticles(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return unknown_articles_ > 0 || closed_.has_value();
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  return unknown_articles_ > 0 && !closed_.has_value();
}

void WatchHub::Publish(const std::vector<std::string>& article_ids,
                       const std::vector<ArticleCounts>& counts) {
  std::vector<std::function<void()>> wakes;
  {
    absl::MutexLock lock(&mu_);
    absl::flat_hash_set<WatcherId> touched;
    for (std::size_t i = 0; i < article_ids.size() && i < counts.size(); ++i) {
      auto it = articles_.find(article_ids[i]);
      if (it == articles_.end()) continue;
      Article& article = it->second;
      const bool was_unknown = !article.counts.has_value();
      if (!was_unknown && !(*article.counts != counts[i])) continue;
      article.counts = counts[i];
      if (was_unknown) --unknown_articles_;
      for (WatcherId id : article.watchers) {
        Watcher& watcher = watchers_.at(id);
        if (was_unknown) --watcher.unknown;
        watcher.pending[article_ids[i]] = counts[i];
        touched.insert(id);
      }
    }
    for (WatcherId id : touched) MaybeWake(watchers_.at(id), wakes);
  }
  CallAll(wakes);
}

void WatchHub::FetchFailed(const std::vector<std::string>& article_ids,
                           const absl::Status& status) {
  std::vector<std::function<void()>> wakes;
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& article_id : article_ids) {
      auto it = articles_.find(article_id);
      if (it == articles_.end() || it->second.counts.has_value()) continue;
      for (WatcherId id : it->second.watchers) {
        Watcher& watcher = watchers_.at(id);
        if (!watcher.finish.has_value()) watcher.finish = status;
        MaybeWake(watcher, wakes);
      }
    }
  }
  CallAll(wakes);
}

void WatchHub::Close(const absl::Status& status) {
  std::vector<std::function<void()>> wakes;
  {
    absl::MutexLock lock(&mu_);
    if (!closed_.has_value()) closed_ = status;
    for (auto& [id, watcher] : watchers_) {
      if (!watcher.finish.has_value()) watcher.finish = status;
      MaybeWake(watcher, wakes);
    }
  }
  CallAll(wakes);
}

bool WatchHub::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_.has_value();
}

std::size_t WatchHub::watcher_count() const {
  absl::MutexLock lock(&mu_);
  return watchers_.size();
}

}  // namespace newsroom::analytics
