#include "analytics-service/src/redis_read_counter.h"

#include <openssl/evp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace newsroom::analytics {
namespace {

// Counts one read atomically. Skips it when its dedup key exists; otherwise sets the dedup key
// and updates every counter. Returns {reads, unique_readers, duplicate (0 or 1)}.
// KEYS: seen, reads, readers, top:all[, top:day]. ARGV: dedup seconds, article id, reader hash
// ("" for none), unix time the day's ranking expires.
constexpr char kRecordScript[] = R"lua(
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  local reads = redis.call('INCR', KEYS[2])
  redis.call('ZINCRBY', KEYS[4], 1, ARGV[2])
  if #KEYS == 5 then
    -- Only an article's first read of the day can have created the day's ranking, so only then
    -- does it need its expiry; sparing the call on every other read saves Redis a command.
    if redis.call('ZINCRBY', KEYS[5], 1, ARGV[2]) == '1' then
      redis.call('EXPIREAT', KEYS[5], ARGV[4])
    end
  end
  if ARGV[3] ~= '' then
    redis.call('PFADD', KEYS[3], ARGV[3])
  end
  return {reads, redis.call('PFCOUNT', KEYS[3]), 0}
end
return {tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('PFCOUNT', KEYS[3]), 1}
)lua";

// Returns a page of the sum of several days' rankings, leaving nothing behind.
// KEYS: scratch, day rankings... ARGV: first rank, last rank (inclusive).
constexpr char kRankUnionScript[] = R"lua(
redis.call('ZUNIONSTORE', KEYS[1], #KEYS - 1, unpack(KEYS, 2))
local page = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
redis.call('DEL', KEYS[1])
return page
)lua";

std::string Sha1Hex(absl::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha1(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<std::size_t>(length)));
}

const std::string& RecordSha() {
  static const std::string* const sha = new std::string(Sha1Hex(kRecordScript));
  return *sha;
}

const std::string& RankUnionSha() {
  static const std::string* const sha = new std::string(Sha1Hex(kRankUnionScript));
  return *sha;
}

absl::Status Unavailable() { return absl::UnavailableError("Redis is unavailable"); }

absl::StatusOr<RecordOutcome> ParseRecordReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3) {
    return absl::InternalError("unexpected reply from Redis");
  }
  RecordOutcome outcome;
  absl::StatusOr<int64_t> reads = IntegerFromReply(*reply.element[0]);
  absl::StatusOr<int64_t> readers = IntegerFromReply(*reply.element[1]);
  absl::StatusOr<int64_t> duplicate = IntegerFromReply(*reply.element[2]);
  if (!reads.ok()) return reads.status();
  if (!readers.ok()) return readers.status();
  if (!duplicate.ok()) return duplicate.status();
  outcome.counts.reads = *reads;
  outcome.counts.unique_readers = *readers;
  outcome.duplicate = *duplicate != 0;
  return outcome;
}

absl::StatusOr<RankingPage> ParseRankingReply(const redisReply& reply, int64_t limit) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements % 2 != 0) {
    return absl::InternalError("unexpected reply from Redis");
  }
  RankingPage page;
  for (std::size_t i = 0; i + 1 < reply.elements; i += 2) {
    const redisReply& member = *reply.element[i];
    const redisReply& score = *reply.element[i + 1];
    double reads = 0;
    if (member.type != REDIS_REPLY_STRING || score.type != REDIS_REPLY_STRING ||
        !absl::SimpleAtod(absl::string_view(score.str, score.len), &reads)) {
      return absl::InternalError("unexpected reply from Redis");
    }
    if (static_cast<int64_t>(page.articles.size()) == limit) {
      page.has_more = true;
      break;
    }
    page.articles.push_back(
        {std::string(member.str, member.len), static_cast<int64_t>(std::llround(reads))});
  }
  return page;
}

}  // namespace

RedisReadCounter::RedisReadCounter(RedisReadCounterOptions options)
    : options_(std::move(options)), keys_(options_.key_prefix) {
  const int pool_size = options_.pool_size < 1 ? 1 : options_.pool_size;
  for (int i = 0; i < pool_size; ++i) {
    slots_.push_back(std::make_unique<Slot>(options_.connection));
    idle_slots_.push_back(slots_.back().get());
  }
  for (int i = 0; i < pool_size; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

RedisReadCounter::~RedisReadCounter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& worker : workers_) worker.join();
}

absl::Status RedisReadCounter::LoadScripts(RedisConnection& connection) {
  const RedisCommand commands[] = {{"SCRIPT", "LOAD", kRecordScript},
                                   {"SCRIPT", "LOAD", kRankUnionScript}};
  absl::StatusOr<std::vector<RedisReply>> replies = connection.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply->type == REDIS_REPLY_ERROR) return ErrorReplyStatus(*reply);
    if (reply->type != REDIS_REPLY_STRING)
      return absl::InternalError("unexpected reply from Redis");
  }
  return absl::OkStatus();
}

RedisCommand RedisReadCounter::RecordCommand(const Read& read) const {
  RedisCommand command{"EVALSHA",
                       RecordSha(),
                       read.ranking_day ? "5" : "4",
                       keys_.Seen(read.article_id, read.read_id),
                       keys_.Reads(read.article_id),
                       keys_.Readers(read.article_id),
                       keys_.TopAllTime()};
  int64_t expire_at = 0;
  if (read.ranking_day) {
    command.push_back(keys_.TopDay(*read.ranking_day));
    expire_at = absl::ToUnixSeconds(
        absl::FromCivil(*read.ranking_day + kRankingDayTtlDays, absl::UTCTimeZone()));
  }
  command.push_back(absl::StrCat(absl::ToInt64Seconds(kDedupWindow)));
  command.push_back(read.article_id);
  command.push_back(read.reader_hash);
  command.push_back(absl::StrCat(expire_at));
  return command;
}

void RedisReadCounter::Record(std::vector<Read> reads, Callback<std::vector<RecordOutcome>> done) {
  std::vector<RedisCommand> commands;
  commands.reserve(reads.size());
  for (const Read& read : reads) commands.push_back(RecordCommand(read));
  Enqueue(std::move(commands), [done = std::move(done)](absl::StatusOr<Replies> replies) mutable {
    if (!replies.ok()) return std::move(done)(replies.status());
    std::vector<RecordOutcome> outcomes;
    outcomes.reserve(replies->size());
    for (const RedisReply& reply : *replies) {
      absl::StatusOr<RecordOutcome> outcome = ParseRecordReply(*reply);
      if (!outcome.ok()) return std::move(done)(outcome.status());
      outcomes.push_back(*outcome);
    }
    std::move(done)(std::move(outcomes));
  });
}

void RedisReadCounter::Get(std::vector<std::string> article_ids,
                           Callback<std::vector<ArticleCounts>> done) {
  std::vector<RedisCommand> commands;
  commands.reserve(article_ids.size() * 2);
  for (const std::string& id : article_ids) {
    commands.push_back({"GET", keys_.Reads(id)});
    commands.push_back({"PFCOUNT", keys_.Readers(id)});
  }
  Enqueue(std::move(commands), [done = std::move(done)](absl::StatusOr<Replies> replies) mutable {
    if (!replies.ok()) return std::move(done)(replies.status());
    std::vector<ArticleCounts> counts(replies->size() / 2);
    for (std::size_t i = 0; i < counts.size(); ++i) {
      absl::StatusOr<int64_t> reads = IntegerFromReply(*(*replies)[2 * i]);
      absl::StatusOr<int64_t> readers = IntegerFromReply(*(*replies)[2 * i + 1]);
      if (!reads.ok()) return std::move(done)(reads.status());
      if (!readers.ok()) return std::move(done)(readers.status());
      counts[i] = {*reads, *readers};
    }
    std::move(done)(std::move(counts));
  });
}

void RedisReadCounter::Rank(RankingQuery query, Callback<RankingPage> done) {
  // One entry past the page tells whether there is a next page.
  const std::string first = absl::StrCat(query.offset);
  const std::string last = absl::StrCat(query.offset + query.limit);
  RedisCommand command;
  if (query.days.size() <= 1) {
    const std::string key =
        query.days.empty() ? keys_.TopAllTime() : keys_.TopDay(query.days.front());
    command = {"ZREVRANGE", key, first, last, "WITHSCORES"};
  } else {
    command = {"EVALSHA", RankUnionSha(), absl::StrCat(query.days.size() + 1),
               keys_.TopUnionScratch()};
    for (absl::CivilDay day : query.days) command.push_back(keys_.TopDay(day));
    command.push_back(first);
    command.push_back(last);
  }
  std::vector<RedisCommand> commands;
  commands.push_back(std::move(command));
  Enqueue(std::move(commands),
          [done = std::move(done), limit = query.limit](absl::StatusOr<Replies> replies) mutable {
            if (!replies.ok()) return std::move(done)(replies.status());
            std::move(done)(ParseRankingReply(*replies->front(), limit));
          });
}

void RedisReadCounter::Enqueue(std::vector<RedisCommand> commands,
                               absl::AnyInvocable<void(absl::StatusOr<Replies>) &&> done) {
  if (commands.empty()) return std::move(done)(Replies());
  Slot* slot = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (queued_commands_ + commands.size() > options_.max_queued_commands) {
      return std::move(done)(absl::UnavailableError("too much work queued for Redis; retry later"));
    }
    // Nothing queued and nobody sending: take a connection and send this call's commands on this
    // thread, saving the hand-off to a worker. Otherwise queue them for the workers, whose
    // pipelines then carry many calls each.
    if (redis_down_ || !queue_.empty() || leaders_ > 0 || idle_slots_.empty()) {
      queued_commands_ += commands.size();
      queue_.push_back({std::move(commands), std::move(done)});
      return;
    }
    slot = idle_slots_.back();
    idle_slots_.pop_back();
    ++leaders_;
  }
  std::vector<Job> batch;
  batch.push_back({std::move(commands), std::move(done)});
  RunBatch(slot->connection, batch, slot->reported_down);
  absl::MutexLock lock(&mu_);
  redis_down_ = slot->reported_down;
  idle_slots_.push_back(slot);
  --leaders_;
}

void RedisReadCounter::WorkerLoop() {
  std::vector<Job> batch;
  while (true) {
    Slot* slot;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](RedisReadCounter* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || (!self->queue_.empty() && !self->idle_slots_.empty());
          },
          this));
      if (queue_.empty()) return;  // stopping, and nothing left to send
      if (idle_slots_.empty()) continue;
      slot = idle_slots_.back();
      idle_slots_.pop_back();
      std::size_t commands = 0;
      while (!queue_.empty() && (batch.empty() || commands + queue_.front().commands.size() <=
                                                      options_.max_pipeline_commands)) {
        commands += queue_.front().commands.size();
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_commands_ -= commands;
    }
    RunBatch(slot->connection, batch, slot->reported_down);
    batch.clear();
    absl::MutexLock lock(&mu_);
    redis_down_ = slot->reported_down;
    idle_slots_.push_back(slot);
  }
}

void RedisReadCounter::RunBatch(RedisConnection& connection, std::vector<Job>& jobs,
                                bool& reported_down) {
  const RedisMetrics& metrics = options_.metrics;
  const auto fail_all = [&](const absl::Status& status) {
    if (!reported_down) {
      std::fprintf(stderr, "analytics-service: %s\n", status.ToString().c_str());
      reported_down = true;
    }
    for (Job& job : jobs) std::move(job.done)(Unavailable());
  };

  const auto connect = [&connection, &metrics]() -> absl::Status {
    absl::Status status = connection.Connect();
    if (status.ok()) status = LoadScripts(connection);
    if (!status.ok()) {
      connection.Disconnect();
      if (metrics.connection_errors != nullptr) metrics.connection_errors->Increment();
    }
    return status;
  };
  const bool reused = connection.connected();
  if (!reused) {
    if (absl::Status status = connect(); !status.ok()) return fail_all(status);
  }

  std::vector<RedisCommand> commands;
  std::vector<std::size_t> job_sizes;
  for (Job& job : jobs) {
    job_sizes.push_back(job.commands.size());
    for (RedisCommand& command : job.commands) commands.push_back(std::move(command));
  }
  const auto timed_pipeline = [&connection, &metrics](absl::Span<const RedisCommand> sent) {
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<Replies> result = connection.Pipeline(sent);
    if (metrics.pipeline_seconds != nullptr) {
      metrics.pipeline_seconds->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (metrics.commands != nullptr) metrics.commands->Increment(sent.size());
    if (!result.ok() && metrics.connection_errors != nullptr)
      metrics.connection_errors->Increment();
    return result;
  };
  absl::StatusOr<Replies> replies = timed_pipeline(commands);
  if (!replies.ok() && reused) {
    // A connection that sat idle may be stale (Redis restarted, or a proxy dropped it). Every
    // command here may run twice without harm (a read is deduplicated by its read_id, the rest
    // only read), so try once more on a fresh connection before failing the callers.
    if (absl::Status status = connect(); !status.ok()) return fail_all(status);
    replies = timed_pipeline(commands);
  }
  if (!replies.ok()) return fail_all(replies.status());

  // The script cache is empty after a SCRIPT FLUSH or a restart we did not notice: load the
  // scripts and send again exactly the commands that did not run.
  std::vector<std::size_t> retry;
  for (std::size_t i = 0; i < replies->size(); ++i) {
    if (IsErrorReply(*(*replies)[i], "NOSCRIPT")) retry.push_back(i);
  }
  if (!retry.empty()) {
    if (absl::Status status = LoadScripts(connection); !status.ok()) return fail_all(status);
    std::vector<RedisCommand> again;
    for (std::size_t i : retry) again.push_back(commands[i]);
    absl::StatusOr<Replies> retried = timed_pipeline(again);
    if (!retried.ok()) return fail_all(retried.status());
    for (std::size_t k = 0; k < retry.size(); ++k) (*replies)[retry[k]] = std::move((*retried)[k]);
  }
  if (reported_down) {
    std::fprintf(stderr, "analytics-service: Redis at %s reachable again\n",
                 connection.address().c_str());
    reported_down = false;
  }

  if (metrics.error_replies != nullptr) {
    for (const RedisReply& reply : *replies) {
      if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) metrics.error_replies->Increment();
    }
  }
  std::size_t next = 0;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    Replies own;
    own.reserve(job_sizes[j]);
    for (std::size_t k = 0; k < job_sizes[j]; ++k) {
      own.push_back(std::move((*replies)[next++]));
    }
    std::move(jobs[j].done)(std::move(own));
  }
}

}  // namespace newsroom::analytics
