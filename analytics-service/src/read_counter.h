#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"

namespace newsroom::analytics {

// One validated read, ready to be counted.
struct Read {
  std::string article_id;   // `{article_id}`, without the `articles/` prefix
  std::string read_id;      // the caller's idempotency key
  std::string reader_hash;  // keyed hash of the reader id; empty when the read has no reader
  // The UTC day whose ranking the read counts in, or nullopt when the read is older than the
  // longest ranked period and counts in the all-time totals only.
  std::optional<absl::CivilDay> ranking_day;
};

// An article's counters.
struct ArticleCounts {
  int64_t reads = 0;
  int64_t unique_readers = 0;

  friend bool operator==(const ArticleCounts&, const ArticleCounts&) = default;
};

// The result of recording one read.
struct RecordOutcome {
  ArticleCounts counts;    // after the read
  bool duplicate = false;  // the read_id was already recorded for the article; nothing changed
};

// Which ranking to read and which slice of it.
struct RankingQuery {
  // Empty: the all-time ranking. Otherwise the sum of these days' rankings.
  std::vector<absl::CivilDay> days;
  int64_t offset = 0;
  int64_t limit = 0;
};

struct RankedArticleCount {
  std::string article_id;
  int64_t reads = 0;
};

struct RankingPage {
  std::vector<RankedArticleCount> articles;  // most read first, ties by article id descending
  bool has_more = false;                     // entries exist past offset + limit
};

// Where the change log stands, and which articles changed since an earlier position.
struct ChangedArticles {
  // Which log: a new id means the store lost the log (and its positions) and started another.
  std::string log_id;
  // The log's position now: pass it, plus one, as `from` next time.
  int64_t head = 0;
  // Every article whose counts changed after the position asked for (each once), in no order.
  std::vector<std::string> article_ids;
};

template <typename T>
using Callback = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

// Where reads are counted. Calls are asynchronous so an implementation can group the work of many
// callers into one round trip: `done` runs exactly once, possibly on another thread, possibly
// before the call returns. Errors: UNAVAILABLE when the store cannot be reached, INTERNAL when it
// answers something unexpected.
class ReadCounter {
 public:
  virtual ~ReadCounter() = default;

  // Records `reads` in order, each atomically and at most once per (article, read_id); passes one
  // outcome per read, in order.
  virtual void Record(std::vector<Read> reads, Callback<std::vector<RecordOutcome>> done) = 0;

  // Passes the counters of each article id, in order (zeros for an article never read).
  virtual void Get(std::vector<std::string> article_ids,
                   Callback<std::vector<ArticleCounts>> done) = 0;

  // As Get, except that an article's unique readers may be a count kept from a little before (as a
  // recorded read's may: RedisReadCounterOptions::readers_count_max_age) rather than one counted
  // now. For the pollers behind the watch streams, which ask again and again for the articles
  // being read. The default implementation, for test doubles, is Get.
  virtual void GetRecent(std::vector<std::string> article_ids,
                         Callback<std::vector<ArticleCounts>> done) {
    Get(std::move(article_ids), std::move(done));
  }

  // Passes one page of the ranking described by `query`.
  virtual void Rank(RankingQuery query, Callback<RankingPage> done) = 0;

  // Every article whose counts changed at or after position `from` of the change log, the log's
  // head and its id; with no `from`, the head and id only. A different id than before means the
  // store lost the log, and changes may have been missed. The default implementation, for test
  // doubles without a change log, fails with UNIMPLEMENTED.
  virtual void ChangedSince(std::optional<int64_t> from, Callback<ChangedArticles> done) {
    (void)from;
    std::move(done)(absl::UnimplementedError("no change log"));
  }
};

}  // namespace newsroom::analytics
