#include "analytics-service/src/redis_read_counter.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/src/log.h"

namespace newsroom::analytics {
namespace {

// Counts a batch of reads; each read atomically, at most once per (article, read_id). A read is
// new when its dedup marker (see DedupSlot) is in neither this slot's nor the previous slot's hash
// (nor, for a window and an hour after a process start, an older release's one-key marker) and
// HSETNX adds it: then the article's total is INCRemented and the read is remembered for the
// article's rankings and readers; otherwise it is a duplicate and changes nothing. Once per
// article per call, the rankings get the article's new reads in one ZINCRBY each, the change log
// the article at its next position (so that a reader of the log, behind WatchReadStatsChanges,
// finds it past any position it has read), its readers one PFADD, and its unique readers are
// counted (see unique_readers). Each article runs under pcall: an error (say, a key of the wrong
// type) fails that article's reads and no others. Keys all come in KEYS (Redis must see every key
// a script touches); nothing is built from ARGV.
//   KEYS: top:all, the D day rankings, each of the A articles' reads, readers and readers count,
//         the slot's marker count, the change log's head and the log, then P keys for each read
//         (the articles' reads in article order): its shard of this slot, of the previous slot
//         when ARGV says to look there, and its older-release marker when ARGV says to look for
//         those.
//   ARGV: the slot's expiry (unix time), D, A, P, look in the previous slot (0/1), look for
//         older-release markers (0/1), how long a readers count is kept (ms, at least 1), the
//         fewest unique readers whose count is kept, each day ranking's expiry (unix time), each
//         article's id and number of reads, then each read's day (1..D, 0 for none), reader hash
//         ("" for none) and marker field.
// Returns one entry per read, in order: {reads after it, unique readers after the call's reads of
// the article (or as counted up to ARGV[7] ms before), duplicate (0 or 1)}, or an error.
constexpr char kRecordScript[] = R"lua(
-- PFCOUNT recounts a HyperLogLog that a PFADD changed: 1 to 3 us while it is small (sparse), but
-- 16 to 33 us once it is dense (past about 2 000 readers), more than all the rest of a read. So an
-- article with at least `kept_from` readers is counted at most once per `kept_ms`, by whichever
-- process (and whichever script: this one or the stats script) gets there first, and its count is
-- kept in its readers-count key meanwhile. Smaller ones are counted every call, so their count
-- includes the call's reads. One with fewer reads than that (`total`) should not have that many
-- readers (only an over-estimate near the threshold, or keys imported apart, give it more), so it
-- is counted without looking for a kept count. A kept count that is not a whole number (or a key
-- of another type) is ignored: the readers are counted, and the count replaces it if it is kept.
-- Keeping it is best effort: a SET that Redis refuses (say, out of memory) must not fail a call
-- that only looked.
local function unique_readers(readers_key, kept_key, total, kept_ms, kept_from)
  if total < kept_from then return redis.call('PFCOUNT', readers_key) end
  local ok, kept = pcall(redis.call, 'GET', kept_key)
  if ok and kept and string.match(kept, '^%d+$') and #kept < 16 then return tonumber(kept) end
  local unique = redis.call('PFCOUNT', readers_key)
  if unique >= kept_from then pcall(redis.call, 'SET', kept_key, unique, 'PX', kept_ms) end
  return unique
end
-- The record script proper. Everything above is shared with the stats script (StatsScript()).
local days, articles, per_key = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local previous, legacy = ARGV[5] == '1', ARGV[6] == '1'
local kept_ms, kept_from = ARGV[7], tonumber(ARGV[8])
local count_key = KEYS[2 + days + 3 * articles]
local head_key, log_key = KEYS[3 + days + 3 * articles], KEYS[4 + days + 3 * articles]
local marks, per_read = 4 + days + 3 * articles, 8 + days + 2 * articles
if per_key ~= 1 + (previous and 1 or 0) + (legacy and 1 or 0) or (#KEYS - marks) % per_key ~= 0
    or #ARGV - per_read ~= 3 * (#KEYS - marks) / per_key then
  return redis.error_reply('ERR record script: KEYS and ARGV do not match')
end
local out, marked = {}, 0

local function is_new(r)
  local k, field = marks + (r - 1) * per_key, ARGV[per_read + 3 * r]
  if previous and redis.call('HEXISTS', KEYS[k + 2], field) == 1 then return false end
  if legacy and redis.call('GET', KEYS[k + per_key]) then return false end
  if redis.call('HSETNX', KEYS[k + 1], field, '') == 0 then return false end
  if redis.call('HLEN', KEYS[k + 1]) == 1 then redis.call('EXPIREAT', KEYS[k + 1], ARGV[1]) end
  marked = marked + 1
  return true
end

local function record(a, first, n)
  local reads_key, readers_key = KEYS[3 * a - 1 + days], KEYS[3 * a + days]
  local id = ARGV[7 + days + 2 * a]
  local total, new, day_reads, readers = nil, 0, {}, {}
  for r = first, first + n - 1 do
    if is_new(r) then
      total = redis.call('INCR', reads_key)
      new = new + 1
      local day = tonumber(ARGV[per_read + 3 * r - 2])
      if day > 0 then day_reads[day] = (day_reads[day] or 0) + 1 end
      local reader = ARGV[per_read + 3 * r - 1]
      if reader ~= '' then readers[#readers + 1] = reader end
      out[r] = {total, 0, 0}
    else
      total = total or tonumber(redis.call('GET', reads_key) or '0')
      if not total then error({err = 'ERR read total is not an integer'}) end
      out[r] = {total, 0, 1}
    end
  end
  if new > 0 then
    redis.call('ZINCRBY', KEYS[1], new, id)
    redis.call('ZADD', log_key, redis.call('INCR', head_key), id)
    for d = 1, days do
      local count = day_reads[d]
      -- Only the article's first reads of the day can have created the day's ranking, so only
      -- they need to set its expiry.
      if count and tonumber(redis.call('ZINCRBY', KEYS[1 + d], count, id)) == count then
        redis.call('EXPIREAT', KEYS[1 + d], ARGV[8 + d])
      end
    end
    if #readers > 0 then redis.call('PFADD', readers_key, unpack(readers)) end
  end
  local unique = unique_readers(readers_key, KEYS[3 * a + 1 + days], total, kept_ms, kept_from)
  for r = first, first + n - 1 do out[r][2] = unique end
end

local first = 1
for a = 1, articles do
  local n = tonumber(ARGV[8 + days + 2 * a])
  local ok, err = pcall(record, a, first, n)
  if not ok then
    if type(err) == 'table' then err = err.err end
    for r = first, first + n - 1 do out[r] = {err = tostring(err)} end
  end
  first = first + n
end
-- The count only sizes the next slot's shards: an error here must not fail the reads.
if marked > 0 then
  local ok, count = pcall(redis.call, 'INCRBY', count_key, marked)
  if ok and count == marked then pcall(redis.call, 'EXPIREAT', count_key, ARGV[1]) end
end
return out
)lua";

// Fixes the current slot's shard count if no process has yet, from the markers the previous slot
// took (a slot after none, as after a deployment or an upgrade, gets the fewest), and, on a
// process's first call, moves the end of the older-release lookups to at least ARGV[5]: any
// process start may follow a rollback to a release that wrote one key per read. Returns {this
// slot's shard count, the previous slot's (0 if it has none), unix time until which to look for
// older-release markers}.
// KEYS: this slot's shard count, the previous slot's shard count, the previous slot's marker
//       count, the older-release lookups' end.
// ARGV: fewest shards, most shards, markers a shard is sized for, this slot's expiry (unix time),
//       the older-release lookups' end from now, whether this is the process's first call (0/1).
constexpr char kDedupSlotScript[] = R"lua(
-- A whole number stored at `key`, or nil (tonumber alone would take 'nan', 'inf' or '1e300').
local function count_at(key)
  local text = redis.call('GET', key)
  if text and string.match(text, '^%d+$') and #text < 16 then return tonumber(text) end
  return nil
end
local shards = count_at(KEYS[1])
if not shards then
  local markers = count_at(KEYS[3]) or 0
  local most, per_shard = tonumber(ARGV[2]), tonumber(ARGV[3])
  shards = tonumber(ARGV[1])
  while shards < most and shards * per_shard < markers do shards = shards * 2 end
  redis.call('SET', KEYS[1], shards, 'EXAT', ARGV[4])
end
local legacy_until = count_at(KEYS[4]) or 0
if ARGV[6] == '1' and legacy_until < tonumber(ARGV[5]) then
  legacy_until = tonumber(ARGV[5])
  redis.call('SET', KEYS[4], legacy_until)
end
return {shards, count_at(KEYS[2]) or 0, legacy_until}
)lua";

// Reads the change log: its id, its head, and with a start position the articles changed at or
// after it. The id is set (to ARGV[2]) when missing, so a log that Redis lost, by a FLUSHALL or a
// restart without persistence, gets a new one: positions of the old log mean nothing in it.
// KEYS: change log, head, id. ARGV: start position or '' for none, id for a new log.
constexpr char kChangesScript[] = R"lua(
redis.call('SET', KEYS[3], ARGV[2], 'NX')
local id = redis.call('GET', KEYS[3])
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
if ARGV[1] == '' then return {id, head, {}} end
return {id, head, redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')}
)lua";

// Returns a page of the sum of several days' rankings, leaving nothing behind.
// KEYS: scratch, day rankings... ARGV: first rank, last rank (inclusive).
constexpr char kRankUnionScript[] = R"lua(
redis.call('ZUNIONSTORE', KEYS[1], #KEYS - 1, unpack(KEYS, 2))
local page = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
redis.call('DEL', KEYS[1])
return page
)lua";

// The stats of a call's articles, as GetRecent returns them: each article's reads as stored, and
// its unique readers, counted or kept as a recorded read's are (unique_readers, which this script
// takes from the record script's opening: one definition of when a count is kept). So the dense
// HyperLogLog of a popular article is counted at most once per kept_ms, however many pollers ask
// (behind WatchReadStats and WatchReadStatsChanges: up to four times a second in each replica),
// rather than on every poll.
//   KEYS: each article's reads, readers and readers count.
//   ARGV: how long a readers count is kept (ms, at least 1), the fewest unique readers whose count
//         is kept.
// Returns {reads (nil when none), unique readers} for each article, in order, flat; or an error
// (a key of another type fails the call, as a plain GET or PFCOUNT would).
constexpr char kStatsScriptBody[] = R"lua(
local kept_ms, kept_from = ARGV[1], tonumber(ARGV[2])
local out = {}
for a = 1, #KEYS / 3 do
  local reads = redis.call('GET', KEYS[3 * a - 2])
  -- A total that is not a number fails the call (IntegerFromReply); counted meanwhile as none.
  local total = tonumber(reads or '0') or 0
  out[2 * a - 1] = reads
  out[2 * a] = unique_readers(KEYS[3 * a - 1], KEYS[3 * a], total, kept_ms, kept_from)
end
return out
)lua";

// Articles per stats script call: a script holds Redis until it ends, and an article whose count
// is due costs a PFCOUNT (up to about 33 us dense), so a call of this many stays within a few ms.
constexpr std::size_t kArticlesPerStatsScript = 100;

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

const std::string& StatsScript() {
  static const std::string* const script = [] {
    constexpr absl::string_view kEndOfShared = "-- The record script proper.";
    const absl::string_view record(kRecordScript);
    const std::size_t end = record.find(kEndOfShared);
    // The record script opens with unique_readers: a test loads both scripts into Redis.
    return new std::string(absl::StrCat(record.substr(0, end), kStatsScriptBody));
  }();
  return *script;
}

const std::string& StatsSha() {
  static const std::string* const sha = new std::string(Sha1Hex(StatsScript()));
  return *sha;
}

const std::string& DedupSlotSha() {
  static const std::string* const sha = new std::string(Sha1Hex(kDedupSlotScript));
  return *sha;
}

const std::string& ChangesSha() {
  static const std::string* const sha = new std::string(Sha1Hex(kChangesScript));
  return *sha;
}

const std::string& RankUnionSha() {
  static const std::string* const sha = new std::string(Sha1Hex(kRankUnionScript));
  return *sha;
}

std::string RandomHexId() {
  absl::BitGen random;
  return absl::StrCat(absl::Hex(absl::Uniform<uint64_t>(random), absl::kZeroPad16),
                      absl::Hex(absl::Uniform<uint64_t>(random), absl::kZeroPad16));
}

absl::Status Unavailable() { return absl::UnavailableError("Redis is unavailable"); }

// The three integers of an array reply {a, b, c}, or the error the reply is.
absl::StatusOr<std::array<int64_t, 3>> ThreeIntegers(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3) {
    return absl::InternalError("unexpected reply from Redis");
  }
  std::array<int64_t, 3> values{};
  for (std::size_t i = 0; i < values.size(); ++i) {
    absl::StatusOr<int64_t> value = IntegerFromReply(*reply.element[i]);
    if (!value.ok()) return value.status();
    values[i] = *value;
  }
  return values;
}

absl::StatusOr<RecordOutcome> ParseRecordReply(const redisReply& reply) {
  absl::StatusOr<std::array<int64_t, 3>> values = ThreeIntegers(reply);
  if (!values.ok()) return values.status();
  const auto [reads, readers, duplicate] = *values;
  RecordOutcome outcome;
  outcome.counts.reads = reads;
  outcome.counts.unique_readers = readers;
  outcome.duplicate = duplicate != 0;
  return outcome;
}

absl::StatusOr<ChangedArticles> ParseChangesReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3 ||
      reply.element[0]->type != REDIS_REPLY_STRING || reply.element[2]->type != REDIS_REPLY_ARRAY) {
    return absl::InternalError("unexpected reply from Redis");
  }
  absl::StatusOr<int64_t> head = IntegerFromReply(*reply.element[1]);
  if (!head.ok()) return head.status();
  ChangedArticles changed{.log_id = std::string(reply.element[0]->str, reply.element[0]->len),
                          .head = *head};
  const redisReply& members = *reply.element[2];
  changed.article_ids.reserve(members.elements);
  for (std::size_t i = 0; i < members.elements; ++i) {
    const redisReply& member = *members.element[i];
    if (member.type != REDIS_REPLY_STRING)
      return absl::InternalError("unexpected reply from Redis");
    changed.article_ids.emplace_back(member.str, member.len);
  }
  return changed;
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
    : options_(std::move(options)),
      keys_(options_.key_prefix),
      readers_count_ms_(absl::StrCat(
          std::clamp<int64_t>(absl::ToInt64Milliseconds(options_.readers_count_max_age), 1,
                              int64_t{24} * 3600 * 1000))),
      readers_count_kept_from_(absl::StrCat(options_.readers_count_kept_from)),
      change_log_id_(RandomHexId()) {
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
                                   {"SCRIPT", "LOAD", kDedupSlotScript},
                                   {"SCRIPT", "LOAD", kRankUnionScript},
                                   {"SCRIPT", "LOAD", kChangesScript},
                                   {"SCRIPT", "LOAD", StatsScript()}};
  absl::StatusOr<std::vector<RedisReply>> replies = connection.Pipeline(commands);
  if (!replies.ok()) return replies.status();
  for (const RedisReply& reply : *replies) {
    if (reply->type == REDIS_REPLY_ERROR) return ErrorReplyStatus(*reply);
    if (reply->type != REDIS_REPLY_STRING)
      return absl::InternalError("unexpected reply from Redis");
  }
  return absl::OkStatus();
}

std::optional<DedupLayout> RedisReadCounter::CachedLayoutAt(absl::Time now) {
  absl::MutexLock lock(&layout_mu_);
  // Refreshed every minute, not only when the slot changes, and every few seconds while the
  // previous slot has no markers: a replica whose clock is a little behind may still be marking
  // reads there, and they must soon be looked up too.
  const absl::Duration refresh =
      layout_.layout.previous_shards == 0 ? absl::Seconds(5) : absl::Minutes(1);
  if (layout_.layout.slot != DedupSlotAt(now, options_.dedup_window) ||
      now - layout_.read_at >= refresh) {
    return std::nullopt;
  }
  DedupLayout layout = layout_.layout;
  layout.legacy = absl::ToUnixSeconds(now) < layout_.legacy_until;
  return layout;
}

RedisCommand RedisReadCounter::LayoutCommand(absl::Time now) {
  bool first;
  {
    absl::MutexLock lock(&layout_mu_);
    first = !layout_read_;
  }
  const DedupSlot slot = DedupSlotAt(now, options_.dedup_window);
  const DedupSlot previous{.seconds = slot.seconds, .index = slot.index - 1};
  return {"EVALSHA", DedupSlotSha(), "4", keys_.DedupShards(slot), keys_.DedupShards(previous),
          keys_.DedupCount(previous), keys_.DedupLegacyUntil(), absl::StrCat(kMinDedupShards),
          absl::StrCat(kMaxDedupShards), absl::StrCat(kDedupMarkersPerShard),
          absl::StrCat(slot.ExpiresAt()),
          // Older releases kept a marker for one window from each read: look for them that long
          // after this process started, and an hour more for the rest of a rolling upgrade.
          absl::StrCat(absl::ToUnixSeconds(now) + slot.seconds + 3600), first ? "1" : "0"};
}

absl::StatusOr<DedupLayout> RedisReadCounter::StoreLayout(const redisReply& reply, absl::Time now) {
  absl::StatusOr<std::array<int64_t, 3>> values = ThreeIntegers(reply);
  if (!values.ok()) return values.status();
  const auto [shards, previous_shards, legacy_until] = *values;
  // A marker's shard is the low bits of its hash, so a shard count must be a power of two: any
  // other value was not written by us.
  const auto valid = [](int64_t n) { return n > 0 && n <= kMaxDedupShards && (n & (n - 1)) == 0; };
  if (!valid(shards) || (previous_shards != 0 && !valid(previous_shards))) {
    return absl::InternalError("unexpected dedup shard count in Redis");
  }
  const CachedLayout cached{.layout = {.slot = DedupSlotAt(now, options_.dedup_window),
                                       .shards = shards,
                                       .previous_shards = previous_shards,
                                       .legacy = absl::ToUnixSeconds(now) < legacy_until},
                            .legacy_until = legacy_until,
                            .read_at = now};
  absl::MutexLock lock(&layout_mu_);
  layout_read_ = true;
  // Another worker may have stored a newer layout meanwhile (this one asked before a slot ended).
  if (now < layout_.read_at) return cached.layout;
  if (layout_.layout.slot != cached.layout.slot || layout_.layout.legacy != cached.layout.legacy ||
      layout_.layout.previous_shards != cached.layout.previous_shards) {
    log::Info(absl::StrCat("dedup markers: slot ", cached.layout.slot.index, " (",
                           cached.layout.slot.seconds, " s) in ", cached.layout.shards,
                           " hashes; previous slot in ", cached.layout.previous_shards,
                           cached.layout.legacy ? "; older releases' markers looked up until " : "",
                           cached.layout.legacy ? absl::StrCat(cached.legacy_until) : ""));
  }
  layout_ = cached;
  return cached.layout;
}

void RedisReadCounter::LogLayoutError(const absl::Status& status, absl::Time now) {
  {
    absl::MutexLock lock(&layout_mu_);
    // Every batch asks again until the layout can be read, so at most one line a minute.
    if (now - layout_error_logged_ < absl::Minutes(1)) return;
    layout_error_logged_ = now;
  }
  log::Error(absl::StrCat("cannot read the dedup marker layout from Redis, so reads fail: ",
                          status.ToString()));
}

std::vector<RedisReadCounter::RecordCall> RedisReadCounter::RecordCalls(
    absl::Span<const Read* const> reads, const DedupLayout& layout) const {
  // Order the reads article by article (articles in order of their first read, each article's
  // reads in their own order: dedup and totals depend on it), so that each call sees an article's
  // reads together.
  absl::flat_hash_map<absl::string_view, std::size_t> article_of;
  std::vector<std::size_t> article(reads.size());
  std::vector<std::size_t> next;  // per article: where its next read goes in `order`
  for (std::size_t i = 0; i < reads.size(); ++i) {
    const auto [it, added] = article_of.try_emplace(reads[i]->article_id, next.size());
    if (added) next.push_back(0);
    article[i] = it->second;
    ++next[it->second];
  }
  std::size_t start = 0;
  for (std::size_t& n : next) start += std::exchange(n, start);
  std::vector<std::size_t> order(reads.size());
  for (std::size_t i = 0; i < reads.size(); ++i) order[next[article[i]]++] = i;

  std::vector<DedupMarker> markers;
  markers.reserve(reads.size());
  for (const Read* read : reads) markers.push_back(DedupMarkerOf(read->article_id, read->read_id));
  const DedupSlot previous{.seconds = layout.slot.seconds, .index = layout.slot.index - 1};
  const std::string expires_at = absl::StrCat(layout.slot.ExpiresAt());
  const std::size_t per_read_keys =
      1 + (layout.previous_shards > 0 ? 1 : 0) + (layout.legacy ? 1 : 0);

  const std::size_t per_call = std::max<std::size_t>(options_.max_reads_per_script, 1);
  std::vector<RecordCall> calls;
  calls.reserve((reads.size() + per_call - 1) / per_call);
  std::vector<absl::CivilDay> days;
  std::vector<std::size_t> day_of;  // per read of the call: 1..D, 0 for none
  std::vector<std::pair<std::size_t, std::size_t>> articles;  // per article: first read, reads
  for (std::size_t begin = 0; begin < order.size(); begin += per_call) {
    RecordCall& call = calls.emplace_back();
    call.reads.assign(order.begin() + begin,
                      order.begin() + std::min(order.size(), begin + per_call));
    days.clear();
    day_of.assign(call.reads.size(), 0);
    articles.clear();
    for (std::size_t r = 0; r < call.reads.size(); ++r) {
      const Read& read = *reads[call.reads[r]];
      if (read.ranking_day) {
        const auto day = std::find(days.begin(), days.end(), *read.ranking_day);
        day_of[r] = static_cast<std::size_t>(day - days.begin()) + 1;
        if (day == days.end()) days.push_back(*read.ranking_day);
      }
      if (r == 0 || article[call.reads[r]] != article[call.reads[r - 1]]) {
        articles.emplace_back(r, 0);
      }
      ++articles.back().second;
    }

    RedisCommand& command = call.command;
    command.reserve(15 + 2 * days.size() + 5 * articles.size() +
                    (per_read_keys + 3) * call.reads.size());
    command.push_back("EVALSHA");
    command.push_back(RecordSha());
    command.push_back(
        absl::StrCat(4 + days.size() + 3 * articles.size() + per_read_keys * call.reads.size()));
    command.push_back(keys_.TopAllTime());
    for (absl::CivilDay day : days) command.push_back(keys_.TopDay(day));
    for (const auto& [first, n] : articles) {
      const std::string& id = reads[call.reads[first]]->article_id;
      command.push_back(keys_.Reads(id));
      command.push_back(keys_.Readers(id));
      command.push_back(keys_.ReadersCount(id));
    }
    command.push_back(keys_.DedupCount(layout.slot));
    command.push_back(keys_.ChangesHead());
    command.push_back(keys_.Changes());
    for (std::size_t r = 0; r < call.reads.size(); ++r) {
      const Read& read = *reads[call.reads[r]];
      // Shard counts are powers of two, so a shard is the hash's low bits.
      const uint64_t hash = markers[call.reads[r]].shard_hash;
      command.push_back(keys_.DedupShard(layout.slot, hash & (layout.shards - 1)));
      if (layout.previous_shards > 0) {
        command.push_back(keys_.DedupShard(previous, hash & (layout.previous_shards - 1)));
      }
      if (layout.legacy) command.push_back(keys_.LegacySeen(read.article_id, read.read_id));
    }
    command.push_back(expires_at);
    command.push_back(absl::StrCat(days.size()));
    command.push_back(absl::StrCat(articles.size()));
    command.push_back(absl::StrCat(per_read_keys));
    command.push_back(layout.previous_shards > 0 ? "1" : "0");
    command.push_back(layout.legacy ? "1" : "0");
    command.push_back(readers_count_ms_);
    command.push_back(readers_count_kept_from_);
    for (absl::CivilDay day : days) {
      command.push_back(absl::StrCat(
          absl::ToUnixSeconds(absl::FromCivil(day + kRankingDayTtlDays, absl::UTCTimeZone()))));
    }
    for (const auto& [first, n] : articles) {
      command.push_back(reads[call.reads[first]]->article_id);
      command.push_back(absl::StrCat(n));
    }
    for (std::size_t r = 0; r < call.reads.size(); ++r) {
      command.push_back(absl::StrCat(day_of[r]));
      command.push_back(reads[call.reads[r]]->reader_hash);
      command.push_back(std::move(markers[call.reads[r]].field));
    }
  }
  return calls;
}

std::vector<RedisCommand> RedisReadCounter::RecordCommands(absl::Span<const Read> reads,
                                                           const DedupLayout& layout) const {
  std::vector<const Read*> pointers;
  pointers.reserve(reads.size());
  for (const Read& read : reads) pointers.push_back(&read);
  std::vector<RedisCommand> commands;
  for (RecordCall& call : RecordCalls(pointers, layout)) {
    commands.push_back(std::move(call.command));
  }
  return commands;
}

void RedisReadCounter::Record(std::vector<Read> reads, Callback<std::vector<RecordOutcome>> done) {
  Job job;
  job.reads = std::move(reads);
  job.record_done = std::move(done);
  Enqueue(std::move(job));
}

void RedisReadCounter::Get(std::vector<std::string> article_ids,
                           Callback<std::vector<ArticleCounts>> done) {
  std::vector<RedisCommand> commands;
  commands.reserve(article_ids.size() * 2);
  for (const std::string& id : article_ids) {
    commands.push_back({"GET", keys_.Reads(id)});
    commands.push_back({"PFCOUNT", keys_.Readers(id)});
  }
  Job job;
  job.commands = std::move(commands);
  job.done = [done = std::move(done)](absl::StatusOr<Replies> replies) mutable {
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
  };
  Enqueue(std::move(job));
}

void RedisReadCounter::GetRecent(std::vector<std::string> article_ids,
                                 Callback<std::vector<ArticleCounts>> done) {
  Job job;
  for (std::size_t begin = 0; begin < article_ids.size(); begin += kArticlesPerStatsScript) {
    const std::size_t end = std::min(article_ids.size(), begin + kArticlesPerStatsScript);
    RedisCommand command;
    command.reserve(3 + 3 * (end - begin) + 2);
    command.push_back("EVALSHA");
    command.push_back(StatsSha());
    command.push_back(absl::StrCat(3 * (end - begin)));
    for (std::size_t i = begin; i < end; ++i) {
      command.push_back(keys_.Reads(article_ids[i]));
      command.push_back(keys_.Readers(article_ids[i]));
      command.push_back(keys_.ReadersCount(article_ids[i]));
    }
    command.push_back(readers_count_ms_);
    command.push_back(readers_count_kept_from_);
    job.commands.push_back(std::move(command));
  }
  job.articles = article_ids.size();
  job.done = [done = std::move(done),
              articles = article_ids.size()](absl::StatusOr<Replies> replies) mutable {
    if (!replies.ok()) return std::move(done)(replies.status());
    std::vector<ArticleCounts> counts;
    counts.reserve(articles);
    for (const RedisReply& reply : *replies) {
      if (reply->type == REDIS_REPLY_ERROR) return std::move(done)(ErrorReplyStatus(*reply));
      if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
        return std::move(done)(absl::InternalError("unexpected reply from Redis"));
      }
      for (std::size_t i = 0; i < reply->elements; i += 2) {
        absl::StatusOr<int64_t> reads = IntegerFromReply(*reply->element[i]);
        absl::StatusOr<int64_t> readers = IntegerFromReply(*reply->element[i + 1]);
        if (!reads.ok()) return std::move(done)(reads.status());
        if (!readers.ok()) return std::move(done)(readers.status());
        counts.push_back({*reads, *readers});
      }
    }
    if (counts.size() != articles) {
      return std::move(done)(absl::InternalError("unexpected reply from Redis"));
    }
    std::move(done)(std::move(counts));
  };
  Enqueue(std::move(job));
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
  Job job;
  job.commands.push_back(std::move(command));
  job.done = [done = std::move(done),
              limit = query.limit](absl::StatusOr<Replies> replies) mutable {
    if (!replies.ok()) return std::move(done)(replies.status());
    std::move(done)(ParseRankingReply(*replies->front(), limit));
  };
  Enqueue(std::move(job));
}

void RedisReadCounter::ChangedSince(std::optional<int64_t> from, Callback<ChangedArticles> done) {
  Job job;
  job.commands.push_back({"EVALSHA", ChangesSha(), "3", keys_.Changes(), keys_.ChangesHead(),
                          keys_.ChangesId(), from.has_value() ? absl::StrCat(*from) : std::string(),
                          change_log_id_});
  job.done = [done = std::move(done)](absl::StatusOr<Replies> replies) mutable {
    if (!replies.ok()) return std::move(done)(replies.status());
    std::move(done)(ParseChangesReply(*replies->front()));
  };
  Enqueue(std::move(job));
}

void RedisReadCounter::Enqueue(Job job) {
  if (job.size() == 0) {
    if (job.record_done) return std::move(job.record_done)(std::vector<RecordOutcome>());
    return std::move(job.done)(Replies());
  }
  Slot* slot = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (queued_commands_ + job.size() > options_.max_queued_commands) {
      return std::move(job).Fail(
          absl::UnavailableError("too much work queued for Redis; retry later"));
    }
    // Nothing queued and nobody sending: take a connection and send this call's commands on this
    // thread, saving the hand-off to a worker. Otherwise queue them for the workers, whose
    // pipelines then carry many calls each.
    if (redis_down_ || !queue_.empty() || leaders_ > 0 || idle_slots_.empty()) {
      queued_commands_ += job.size();
      queue_.push_back(std::move(job));
      return;
    }
    slot = idle_slots_.back();
    idle_slots_.pop_back();
    ++leaders_;
  }
  std::vector<Job> batch;
  batch.push_back(std::move(job));
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
      while (!queue_.empty() && (batch.empty() || commands + queue_.front().size() <=
                                                      options_.max_pipeline_commands)) {
        commands += queue_.front().size();
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
      log::Error(status.ToString());
      reported_down = true;
    }
    for (Job& job : jobs) std::move(job).Fail(Unavailable());
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

  // The jobs' own commands first, then every job's reads packed into record script calls.
  std::vector<RedisCommand> commands;
  std::vector<const Read*> reads;
  for (Job& job : jobs) {
    for (RedisCommand& command : job.commands) commands.push_back(std::move(command));
    for (const Read& read : job.reads) reads.push_back(&read);
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
  const auto count_error_reply = [&metrics](const redisReply& reply) {
    if (reply.type != REDIS_REPLY_ERROR) return;
    if (metrics::Counter* counter = metrics.error_replies[ErrorReplyKind(reply)]) {
      counter->Increment();
    }
  };

  // Where the reads' markers go: known, or asked of Redis first (see CachedLayoutAt).
  std::optional<DedupLayout> layout;
  absl::Status layout_failed;
  if (!reads.empty()) {
    const absl::Time now = options_.now();
    layout = CachedLayoutAt(now);
    if (!layout.has_value()) {
      const RedisCommand command = LayoutCommand(now);
      absl::StatusOr<Replies> asked = timed_pipeline({&command, 1});
      if (!asked.ok() && reused) {
        // As below: a connection that sat idle may be stale.
        if (absl::Status status = connect(); !status.ok()) return fail_all(status);
        asked = timed_pipeline({&command, 1});
      }
      if (asked.ok() && IsErrorReply(*asked->front(), "NOSCRIPT")) {
        if (absl::Status status = LoadScripts(connection); !status.ok()) return fail_all(status);
        asked = timed_pipeline({&command, 1});
      }
      if (!asked.ok()) return fail_all(asked.status());
      count_error_reply(*asked->front());
      absl::StatusOr<DedupLayout> stored = StoreLayout(*asked->front(), now);
      if (stored.ok()) {
        layout = *stored;
      } else {
        layout_failed = stored.status();
        LogLayoutError(layout_failed, now);
      }
    }
  }
  const std::size_t first_record_call = commands.size();
  std::vector<RecordCall> record_calls;
  if (layout.has_value()) record_calls = RecordCalls(reads, *layout);
  for (RecordCall& call : record_calls) commands.push_back(std::move(call.command));

  if (commands.empty()) {  // only reads, and no layout to record them with
    if (reported_down) {   // Redis did answer
      log::Info(absl::StrCat("Redis at ", connection.address(), " reachable again"));
      reported_down = false;
    }
    for (Job& job : jobs) std::move(job).Fail(layout_failed.ok() ? Unavailable() : layout_failed);
    return;
  }
  absl::StatusOr<Replies> replies = timed_pipeline(commands);
  if (!replies.ok() && reused) {
    // A connection that sat idle may be stale (Redis restarted, or a proxy dropped it). Every
    // command here may run twice without harm (a read is deduplicated by its read_id; the rest
    // read, or keep a readers count afresh), so try once more on a fresh connection before
    // failing the callers.
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
    log::Info(absl::StrCat("Redis at ", connection.address(), " reachable again"));
    reported_down = false;
  }

  for (const RedisReply& reply : *replies) {
    if (reply != nullptr) count_error_reply(*reply);
  }
  // Each read's outcome, in the order of `reads`.
  std::vector<absl::StatusOr<RecordOutcome>> outcomes(
      reads.size(), layout_failed.ok() ? Unavailable() : layout_failed);
  for (std::size_t c = 0; c < record_calls.size(); ++c) {
    const redisReply& reply = *(*replies)[first_record_call + c];
    const std::vector<std::size_t>& carried = record_calls[c].reads;
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != carried.size()) {
      const absl::Status status = reply.type == REDIS_REPLY_ERROR
                                      ? ErrorReplyStatus(reply)
                                      : absl::InternalError("unexpected reply from Redis");
      for (std::size_t i : carried) outcomes[i] = status;
      continue;
    }
    for (std::size_t r = 0; r < carried.size(); ++r) {
      count_error_reply(*reply.element[r]);
      outcomes[carried[r]] = ParseRecordReply(*reply.element[r]);
    }
  }

  std::size_t next_reply = 0;
  std::size_t next_read = 0;
  for (Job& job : jobs) {
    if (job.record_done) {
      std::vector<RecordOutcome> own;
      own.reserve(job.reads.size());
      absl::Status failed;
      for (std::size_t k = 0; k < job.reads.size(); ++k) {
        absl::StatusOr<RecordOutcome>& outcome = outcomes[next_read++];
        if (!outcome.ok()) {
          if (failed.ok()) failed = outcome.status();
        } else {
          own.push_back(*outcome);
        }
      }
      // The call fails as a whole, as a single failed read always did.
      if (!failed.ok()) {
        std::move(job.record_done)(failed);
      } else {
        std::move(job.record_done)(std::move(own));
      }
      continue;
    }
    Replies own;
    own.reserve(job.commands.size());
    for (std::size_t k = 0; k < job.commands.size(); ++k) {
      own.push_back(std::move((*replies)[next_reply++]));
    }
    std::move(job.done)(std::move(own));
  }
}

}  // namespace newsroom::analytics
