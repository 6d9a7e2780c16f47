#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "analytics-service/src/read_counter.h"

namespace newsroom::analytics {

// The state behind WatchReadStats, free of gRPC and Redis: who watches which articles, the latest
// counts of each watched article, and for every watcher the updates it has not been sent yet.
//
// One poller (ReadStatsPoller) asks for WatchedArticles() once per interval and hands the counts to
// Publish(), which fans each changed article out to its watchers. A watcher's pending updates are
// a map article -> latest counts, so a watcher that does not keep up has its updates coalesced:
// its memory is bounded by the articles it watches, however slowly it reads.
//
// Each watcher has one writer at a time (the stream's reactor). Next() hands the writer the
// watcher's pending updates; when there are none the watcher becomes idle, and the next Publish()
// that gives it something calls its `wake` (outside the hub's lock), which makes the writer call
// Next() again. So a watcher is never written to twice at once and never waits for an update that
// is already pending. Thread-safe.
class WatchHub final {
 public:
  using WatcherId = std::uint64_t;
  using Id = WatcherId;

  // One article's counts as sent to a watcher.
  struct Update {
    std::string article_id;
    ArticleCounts counts;
  };

  // What a watcher's writer should do next: send `updates` (in the watcher's article order), or,
  // when `finish` is set, end the stream with it; both empty: nothing now, wait for `wake`.
  struct Batch {
    std::vector<Update> updates;
    std::optional<absl::Status> finish;
    [[nodiscard]] bool has_message() const { return !updates.empty(); }
  };

  // `max_watchers` bounds the watchers at once (Add returns RESOURCE_EXHAUSTED past it).
  explicit WatchHub(int max_watchers) : max_watchers_(max_watchers) {}
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Registers a watcher of `article_ids` (validated, duplicates allowed). The watcher starts with
  // its writer active: the caller must call Next() next. Its first batch is the snapshot of every
  // article, given once the counts of all of them are known (at once when other watchers already
  // watch them; otherwise after the poller's next fetch, which Add requests at once).
  // RESOURCE_EXHAUSTED when `max_watchers` watchers are registered; UNAVAILABLE after Close().
  [[nodiscard]] absl::StatusOr<WatcherId> Add(const std::vector<std::string>& article_ids,
                                              std::function<void()> wake);

  // Unregisters a watcher. A wake already taken by a concurrent Publish may still run once after
  // Remove returns, so a wake must only hold a weak reference to its writer. Unknown ids are
  // ignored.
  void Remove(WatcherId id);

  // The watcher's next batch; see Batch. An empty batch makes the watcher idle until `wake`.
  // Unknown (removed) ids get an empty batch.
  [[nodiscard]] Batch Next(WatcherId id);

  // Every article someone watches: what the poller fetches each interval.
  [[nodiscard]] std::vector<std::string> WatchedArticles() const;

  // The watched articles whose counts are not known yet (a new watcher waits for them).
  [[nodiscard]] std::vector<std::string> UnknownArticles() const;

  // Waits until an article's counts are unknown, Close() was called, or `deadline` passes. True
  // when there are unknown articles to fetch.
  bool WaitForUnknownArticles(absl::Time deadline);

  // Records the counts fetched for `article_ids` (same order and size) and queues, for every
  // watcher of an article whose counts changed (or were unknown), the new counts; then wakes the
  // idle watchers that have something to send. Articles no longer watched are ignored.
  void Publish(const std::vector<std::string>& article_ids,
               const std::vector<ArticleCounts>& counts);

  // A fetch of `article_ids` failed: watchers still waiting for the snapshot of one of them end
  // with `status`. Watchers past their snapshot keep their stream and get the next fetch.
  void FetchFailed(const std::vector<std::string>& article_ids, const absl::Status& status);

  // Ends every watcher with `status` (at its writer's next Next()) and refuses new ones; for
  // shutdown. Waiters in WaitForUnknownArticles return.
  void Close(const absl::Status& status);

  // True once Close() was called.
  [[nodiscard]] bool closed() const;
  [[nodiscard]] std::size_t watcher_count() const;
  [[nodiscard]] int max_watchers() const { return max_watchers_; }

 private:
  struct Watcher {
    std::vector<std::string> article_ids;                     // request order, no duplicates
    absl::flat_hash_map<std::string, ArticleCounts> pending;  // latest unsent counts per article
    std::size_t unknown = 0;  // articles still without counts; the snapshot waits for them
    bool writer_active = true;
    std::optional<absl::Status> finish;
    std::function<void()> wake;
  };
  struct Article {
    absl::flat_hash_set<WatcherId> watchers;
    std::optional<ArticleCounts> counts;  // unset until first fetched
  };

  // True when the watcher's writer has something to do: finish, or send (after the snapshot).
  static bool HasBatch(const Watcher& watcher);
  // Marks `watcher` active and adds its wake to `wakes` when it is idle with a batch ready.
  static void MaybeWake(Watcher& watcher, std::vector<std::function<void()>>& wakes);

  const int max_watchers_;
  mutable absl::Mutex mu_;
  WatcherId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::optional<absl::Status> closed_ ABSL_GUARDED_BY(mu_);  // set by Close
  std::size_t unknown_articles_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<WatcherId, Watcher> watchers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Article> articles_ ABSL_GUARDED_BY(mu_);
};

}  // namespace newsroom::analytics
