#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "analytics-service/src/read_counter.h"
#include "analytics-service/src/watch_hub.h"

namespace newsroom::analytics {

// The state behind WatchReadStatsChanges, free of gRPC and Redis: the open streams and, for each,
// the changed articles' latest counts it has not been sent yet.
//
// One poller (ChangeFeedPoller) reads the change log once per interval and hands every changed
// article's counts to Publish(), which gives every stream one message to send: those changes
// merged into what the stream had not sent yet (an empty message when nothing changed, so that a
// caller can tell a quiet stream from a broken one). A stream that does not keep up has its
// changes coalesced per article, so its memory is bounded by the articles that changed, however
// slowly it reads; past kMaxPendingArticles it is ended (UNAVAILABLE), and reconnects.
//
// Writers follow WatchHub's protocol: a stream's writer calls Next() until it gets nothing, and
// is woken (outside the lock) when Publish() gives it something. Thread-safe.
class ChangeFeedHub final {
 public:
  using Id = std::uint64_t;
  using Update = WatchHub::Update;

  // What a stream's writer should do next: end the stream with `finish`; or, when `send` is set,
  // send `updates` (possibly none); neither: nothing now, wait for the wake.
  struct Batch {
    std::vector<Update> updates;
    std::optional<absl::Status> finish;
    bool send = false;
    [[nodiscard]] bool has_message() const { return send; }
  };

  // Changed articles a stream may have pending before it is ended.
  static constexpr std::size_t kMaxPendingArticles = std::size_t{1} << 20;

  // `max_streams` bounds the streams at once (Add returns RESOURCE_EXHAUSTED past it); a stream
  // with more than `max_pending_articles` unsent changes is ended.
  explicit ChangeFeedHub(int max_streams, std::size_t max_pending_articles = kMaxPendingArticles)
      : max_streams_(max_streams), max_pending_articles_(max_pending_articles) {}
  ChangeFeedHub(const ChangeFeedHub&) = delete;
  ChangeFeedHub& operator=(const ChangeFeedHub&) = delete;

  // Registers a stream, whose writer starts active (it must call Next() next). Its first message
  // comes with the next Publish(): changes published after Add returns reach it.
  // RESOURCE_EXHAUSTED past `max_streams`; UNAVAILABLE after Close().
  [[nodiscard]] absl::StatusOr<Id> Add(std::function<void()> wake);

  // Unregisters a stream. A wake already taken by a concurrent Publish may still run once after
  // Remove returns. Unknown ids are ignored.
  void Remove(Id id);

  // The stream's next batch; see Batch. A batch without a message makes the writer idle until its
  // wake. Unknown (removed) ids get an empty batch.
  [[nodiscard]] Batch Next(Id id);

  // One poll's changes (`article_ids` and `counts` in the same order and size): every stream gets
  // a message with them merged in. Wakes the idle writers.
  void Publish(const std::vector<std::string>& article_ids,
               const std::vector<ArticleCounts>& counts);

  // Ends every open stream with `status` (changes may have been missed, so their callers must
  // start over); streams added afterwards are served as usual.
  void EndAll(const absl::Status& status);

  // Ends every stream with `status` and refuses new ones; for shutdown. Wakes WaitForStreams.
  void Close(const absl::Status& status);

  // Waits until a stream is open, Close() was called, or `deadline` passes. True when a stream is
  // open.
  bool WaitForStreams(absl::Time deadline);

  [[nodiscard]] bool closed() const;
  [[nodiscard]] std::size_t stream_count() const;

 private:
  struct Stream {
    absl::flat_hash_map<std::string, ArticleCounts> pending;  // latest unsent counts per article
    bool message_due = false;
    bool writer_active = true;
    std::optional<absl::Status> finish;
    std::function<void()> wake;
  };

  // Ends `stream` with `status` (unless it already ends) and queues its wake if it is idle.
  static void EndLocked(Stream& stream, const absl::Status& status,
                        std::vector<std::function<void()>>& wakes);

  const int max_streams_;
  const std::size_t max_pending_articles_;
  mutable absl::Mutex mu_;
  Id next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::optional<absl::Status> closed_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Id, Stream> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace newsroom::analytics
