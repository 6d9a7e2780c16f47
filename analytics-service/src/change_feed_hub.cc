#include "analytics-service/src/change_feed_hub.h"

#include <utility>

namespace newsroom::analytics {

absl::StatusOr<ChangeFeedHub::Id> ChangeFeedHub::Add(std::function<void()> wake) {
  absl::MutexLock lock(&mu_);
  if (closed_.has_value()) return *closed_;
  if (streams_.size() >= static_cast<std::size_t>(max_streams_)) {
    return absl::ResourceExhaustedError(
        "this server already serves its limit of change streams (--max-watchers); retry later");
  }
  const Id id = next_id_++;
  streams_[id].wake = std::move(wake);
  return id;
}

void ChangeFeedHub::Remove(Id id) {
  absl::MutexLock lock(&mu_);
  streams_.erase(id);
}

ChangeFeedHub::Batch ChangeFeedHub::Next(Id id) {
  absl::MutexLock lock(&mu_);
  Batch batch;
  const auto it = streams_.find(id);
  if (it == streams_.end()) return batch;
  Stream& stream = it->second;
  if (stream.finish.has_value()) {
    batch.finish = stream.finish;
    return batch;
  }
  if (!stream.message_due) {
    stream.writer_active = false;
    return batch;
  }
  batch.send = true;
  batch.updates.reserve(stream.pending.size());
  for (auto& [article_id, counts] : stream.pending) batch.updates.push_back({article_id, counts});
  stream.pending.clear();
  stream.message_due = false;
  stream.writer_active = true;
  return batch;
}

void ChangeFeedHub::Publish(const std::vector<std::string>& article_ids,
                            const std::vector<ArticleCounts>& counts) {
  std::vector<std::function<void()>> wakes;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, stream] : streams_) {
      if (stream.finish.has_value()) continue;
      for (std::size_t i = 0; i < article_ids.size() && i < counts.size(); ++i) {
        ArticleCounts& pending = stream.pending[article_ids[i]];
        // Counts only grow: a slow poll must not replace newer counts already pending.
        if (counts[i].reads >= pending.reads) pending = counts[i];
      }
      if (stream.pending.size() > max_pending_articles_) {
        stream.pending.clear();
        EndLocked(stream,
                  absl::UnavailableError("the change stream fell too far behind; reconnect"),
                  wakes);
        continue;
      }
      stream.message_due = true;
      if (!stream.writer_active) {
        stream.writer_active = true;
        wakes.push_back(stream.wake);
      }
    }
  }
  for (auto& wake : wakes) wake();
}

void ChangeFeedHub::EndLocked(Stream& stream, const absl::Status& status,
                              std::vector<std::function<void()>>& wakes) {
  if (stream.finish.has_value()) return;
  stream.finish = status;
  if (!stream.writer_active) {
    stream.writer_active = true;
    wakes.push_back(stream.wake);
  }
}

void ChangeFeedHub::EndAll(const absl::Status& status) {
  std::vector<std::function<void()>> wakes;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, stream] : streams_) EndLocked(stream, status, wakes);
  }
  for (auto& wake : wakes) wake();
}

void ChangeFeedHub::Close(const absl::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    if (!closed_.has_value()) closed_ = status;
  }
  EndAll(status);
}

bool ChangeFeedHub::WaitForStreams(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_.has_value() || !streams_.empty();
  };
  mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
  return !closed_.has_value() && !streams_.empty();
}

bool ChangeFeedHub::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_.has_value();
}

std::size_t ChangeFeedHub::stream_count() const {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

}  // namespace newsroom::analytics
