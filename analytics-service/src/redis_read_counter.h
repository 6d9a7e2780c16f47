#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "analytics-service/src/dedup_markers.h"
#include "analytics-service/src/read_counter.h"
#include "analytics-service/src/redis_connection.h"
#include "analytics-service/src/redis_keys.h"
#include "common/src/metrics.h"

namespace newsroom::analytics {

// How long a read_id is remembered per article unless --dedup-window says otherwise; the API
// promises 48 hours by default.
inline constexpr absl::Duration kDefaultDedupWindow = absl::Hours(48);
// An article with at least this many unique readers has them counted for the reads it records at
// most once per RedisReadCounterOptions::readers_count_max_age. Counting (PFCOUNT) a HyperLogLog
// that changed costs Redis 1 to 3 us while it is sparse, which Redis keeps it up to about 2 000
// readers (hll-sparse-max-bytes 3000), and 16 to 33 us once it is dense: more than all the rest of
// a read (bench/redis-readers). It is below that switch so that it also covers a Redis with a
// larger hll-sparse-max-bytes, whose sparse counts cost more too.
inline constexpr int64_t kKeptReadersCountFrom = 1000;
// A day's ranking expires this long after the day starts: past the longest period (30 days),
// with slack for reads recorded up to 5 minutes early and for clock skew between replicas.
inline constexpr int kRankingDayTtlDays = 32;

// Where RedisReadCounter records its round trips; every pointer may be null (not recorded). Not
// owned; must outlive the counter.
struct RedisMetrics {
  metrics::Histogram* pipeline_seconds = nullptr;  // one observation per pipeline sent
  metrics::Counter* commands = nullptr;            // commands sent
  metrics::Counter* connection_errors = nullptr;   // pipelines that failed to reach Redis
  // Commands (and reads inside a script call) Redis answered with an error, by ErrorReplyKind.
  std::array<metrics::Counter*, std::size(kErrorReplyKinds)> error_replies{};
};

struct RedisReadCounterOptions {
  RedisConnectionOptions connection;
  std::string key_prefix = "newsroom:";
  // Worker threads, each with its own connection.
  int pool_size = 4;
  // Most commands one worker sends in one pipeline; a read counts as one command.
  std::size_t max_pipeline_commands = 8192;
  // Most commands waiting for a worker (a read counts as one); past it calls fail fast with
  // UNAVAILABLE instead of queueing without bound while Redis is slow or unreachable.
  std::size_t max_queued_commands = 200000;
  // Most reads one record script call carries. Redis runs a script to the end before serving
  // anyone else, so this bounds that stall (and the call's argv) while still paying the script
  // call's overhead once per this many reads.
  std::size_t max_reads_per_script = 256;
  // How long a read's dedup marker is looked up, at least (whole seconds, at least one; see
  // DedupSlot). Every read recorded keeps a marker of about 21 bytes for 1 to 2 windows, so Redis's
  // memory grows with reads per second times this.
  absl::Duration dedup_window = kDefaultDedupWindow;
  // How old the unique readers a recorded read returns may be, for an article with at least
  // `readers_count_kept_from` of them (whole milliseconds, from one to a day): its count is kept
  // in Redis this long, for every process, and GetRecent returns it too (Get counts afresh).
  absl::Duration readers_count_max_age = absl::Seconds(1);
  // From how many unique readers an article's count is kept (tests move it).
  int64_t readers_count_kept_from = kKeptReadersCountFrom;
  // The clock that picks the dedup slot (tests move it).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  RedisMetrics metrics;
};

// ReadCounter over Redis with group commit over a pool of `pool_size` connections. When nothing
// is queued and no call is being sent, a call takes an idle connection and sends its commands on
// its own thread (no hand-off, so no thread wake-up on the way to Redis: the 1-in-flight case).
// Otherwise it only enqueues; each of `pool_size` workers takes an idle connection and everything
// queued (up to max_pipeline_commands), sends it as one pipeline and completes those callers from
// the replies, so a busy service makes one round trip for many calls. While Redis is down calls
// never send themselves, so no RPC thread waits out a connect timeout.
//
// Reads are counted by a Lua script (EVALSHA, reloaded after NOSCRIPT) that takes every read of a
// pipeline, up to max_reads_per_script a call, whichever callers they came from: the dedup check
// and the counter updates of each read happen atomically, and the script's per-article work
// (rankings, PFADD, PFCOUNT) runs once per article per call rather than once per read. A read
// that fails (say, one article's key holds the wrong type) fails only the calls that include a
// read of that article. Callbacks run on the thread that sent the pipeline.
class RedisReadCounter final : public ReadCounter {
 public:
  explicit RedisReadCounter(RedisReadCounterOptions options);
  // Waits for queued work to be sent (or fail) and stops the workers.
  ~RedisReadCounter() override;
  RedisReadCounter(const RedisReadCounter&) = delete;
  RedisReadCounter& operator=(const RedisReadCounter&) = delete;

  void Record(std::vector<Read> reads, Callback<std::vector<RecordOutcome>> done) override;
  void Get(std::vector<std::string> article_ids,
           Callback<std::vector<ArticleCounts>> done) override;
  void GetRecent(std::vector<std::string> article_ids,
                 Callback<std::vector<ArticleCounts>> done) override;
  void Rank(RankingQuery query, Callback<RankingPage> done) override;
  void ChangedSince(std::optional<int64_t> from, Callback<ChangedArticles> done) override;

  // The EVALSHA commands that record `reads` with markers laid out as `layout` says (exposed for
  // tests of the key and argument layout).
  [[nodiscard]] std::vector<RedisCommand> RecordCommands(absl::Span<const Read> reads,
                                                         const DedupLayout& layout) const;

  // Loads the scripts into the Redis behind `connection`. Returns its error when it cannot.
  [[nodiscard]] static absl::Status LoadScripts(RedisConnection& connection);

 private:
  using Replies = std::vector<RedisReply>;
  // A call's work: commands whose replies go to `done` (Get, Rank), or reads whose outcomes go to
  // `record_done` (Record), which RunBatch packs into script calls together with other jobs' reads.
  struct Job {
    std::vector<RedisCommand> commands;
    absl::AnyInvocable<void(absl::StatusOr<Replies>) &&> done;
    std::vector<Read> reads;
    Callback<std::vector<RecordOutcome>> record_done;

    // The articles a GetRecent's script calls carry, each weighing what a command does.
    std::size_t articles = 0;

    [[nodiscard]] std::size_t size() const { return commands.size() + reads.size() + articles; }
    void Fail(const absl::Status& status) && {
      if (record_done) return std::move(record_done)(status);
      std::move(done)(status);
    }
  };
  // One record script call, and the reads it carries (as indexes into the reads it was made
  // from) in the order it carries them.
  struct RecordCall {
    RedisCommand command;
    std::vector<std::size_t> reads;
  };

  // One pooled connection; `reported_down` remembers that its last failure was logged.
  struct Slot {
    explicit Slot(const RedisConnectionOptions& options) : connection(options) {}
    RedisConnection connection;
    bool reported_down = false;
  };

  // Packs `reads` into script calls of at most max_reads_per_script reads each, every article's
  // reads together and in their order.
  [[nodiscard]] std::vector<RecordCall> RecordCalls(absl::Span<const Read* const> reads,
                                                    const DedupLayout& layout) const;
  // The marker layout for reads recorded at `now`, if read from Redis in this slot less than a
  // minute before (5 s while the previous slot is empty); otherwise LayoutCommand asks Redis for
  // it (fixing the slot's shard count if no process has yet) and StoreLayout reads and caches the
  // reply.
  [[nodiscard]] std::optional<DedupLayout> CachedLayoutAt(absl::Time now);
  [[nodiscard]] RedisCommand LayoutCommand(absl::Time now);
  [[nodiscard]] absl::StatusOr<DedupLayout> StoreLayout(const redisReply& reply, absl::Time now);
  // Logs why the layout could not be read, at most once a minute.
  void LogLayoutError(const absl::Status& status, absl::Time now);
  void Enqueue(Job job);
  void WorkerLoop();
  // Sends the work of `jobs` as one pipeline and completes each job.
  void RunBatch(RedisConnection& connection, std::vector<Job>& jobs, bool& reported_down);

  const RedisReadCounterOptions options_;
  const RedisKeys keys_;
  // The record script's readers-count ARGV (ms, then readers), formatted once.
  const std::string readers_count_ms_;
  const std::string readers_count_kept_from_;
  // What StoreLayout last read from Redis, and when.
  struct CachedLayout {
    DedupLayout layout;
    int64_t legacy_until = 0;  // unix seconds
    absl::Time read_at = absl::InfinitePast();
  };
  absl::Mutex layout_mu_;
  CachedLayout layout_ ABSL_GUARDED_BY(layout_mu_);
  // Whether this process has read a layout yet (its first ask also extends the older-release
  // lookups).
  bool layout_read_ ABSL_GUARDED_BY(layout_mu_) = false;
  absl::Time layout_error_logged_ ABSL_GUARDED_BY(layout_mu_) = absl::InfinitePast();
  // The id this process gives the change log when it finds none (random, so that a lost log is
  // never mistaken for the one it replaces).
  const std::string change_log_id_;

  absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  std::size_t queued_commands_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> idle_slots_ ABSL_GUARDED_BY(mu_);
  // Calls sending their own commands right now (at most one at a time).
  int leaders_ ABSL_GUARDED_BY(mu_) = 0;
  // The last pipeline failed to reach Redis: callers stop leading until one succeeds.
  bool redis_down_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace newsroom::analytics
