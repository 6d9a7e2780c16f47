#include "analytics-service/src/redis_connection.h"

#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/src/log.h"
#include "common/src/startup_retry.h"

namespace newsroom::analytics {
namespace {

timeval TimevalOf(absl::Duration duration) {
  if (duration < absl::Milliseconds(1)) duration = absl::Milliseconds(1);
  return absl::ToTimeval(duration);
}

absl::string_view ReplyText(const redisReply& reply) {
  return reply.str == nullptr ? absl::string_view() : absl::string_view(reply.str, reply.len);
}

}  // namespace

RedisConnection::RedisConnection(RedisConnectionOptions options) : options_(std::move(options)) {}

RedisConnection::~RedisConnection() = default;

std::string RedisConnection::address() const {
  return absl::StrCat(options_.host, ":", options_.port);
}

void RedisConnection::Disconnect() { context_.reset(); }

absl::Status RedisConnection::ConnectionError(absl::string_view what) {
  std::string reason(what);
  if (context_ != nullptr && context_->err != 0) {
    reason = absl::StrCat(what, ": ", context_->errstr);
  }
  context_.reset();
  return absl::UnavailableError(
      absl::StrCat("Redis at ", address(), " unavailable (", reason, ")"));
}

absl::Status RedisConnection::Connect() {
  if (context_ != nullptr) return absl::OkStatus();
  context_.reset(redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                         TimevalOf(options_.connect_timeout)));
  if (context_ == nullptr) return ConnectionError("out of memory");
  if (context_->err != 0) return ConnectionError("connect");
  if (redisSetTimeout(context_.get(), TimevalOf(options_.command_timeout)) != REDIS_OK) {
    return ConnectionError("set timeout");
  }
  redisEnableKeepAlive(context_.get());
  if (!options_.password.empty()) {
    RedisCommand auth{"AUTH"};
    if (!options_.user.empty()) auth.push_back(options_.user);
    auth.push_back(options_.password);
    absl::StatusOr<RedisReply> reply = Run(auth);
    if (!reply.ok()) return reply.status();
    if ((*reply)->type != REDIS_REPLY_STATUS) {
      context_.reset();
      // Redis's error ("WRONGPASS invalid username-password pair or user is disabled.") never
      // echoes the password, so it can be logged as is.
      const absl::string_view error = (*reply)->type == REDIS_REPLY_ERROR
                                          ? ReplyText(**reply)
                                          : absl::string_view("unexpected reply");
      return RefusedByStore(absl::UnavailableError(
          absl::StrCat("Redis at ", address(), " refused AUTH as ",
                       options_.user.empty() ? std::string("the default user")
                                             : absl::StrCat("user \"", options_.user, "\""),
                       " (", error,
                       "); check the password (REDIS_PASSWORD or --redis-password-file) and the "
                       "user's ACL (scripts/redis-acl)")));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RedisReply>> RedisConnection::Pipeline(
    absl::Span<const RedisCommand> commands) {
  if (absl::Status status = Connect(); !status.ok()) return status;
  std::vector<const char*> argv;
  std::vector<size_t> argv_lengths;
  for (const RedisCommand& command : commands) {
    argv.clear();
    argv_lengths.clear();
    for (const std::string& argument : command) {
      argv.push_back(argument.data());
      argv_lengths.push_back(argument.size());
    }
    if (redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(),
                               argv_lengths.data()) != REDIS_OK) {
      return ConnectionError("append command");
    }
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) {
      if (raw != nullptr) freeReplyObject(raw);
      return ConnectionError("read reply");
    }
    replies.emplace_back(static_cast<redisReply*>(raw));
  }
  return replies;
}

absl::StatusOr<RedisReply> RedisConnection::Run(const RedisCommand& command) {
  absl::StatusOr<std::vector<RedisReply>> replies = Pipeline({&command, 1});
  if (!replies.ok()) return replies.status();
  return std::move(replies->front());
}

bool IsErrorReply(const redisReply& reply, absl::string_view prefix) {
  return reply.type == REDIS_REPLY_ERROR && absl::StartsWith(ReplyText(reply), prefix);
}

namespace {

// Error replies of one kind within the current minute. A full Redis (OOM) answers every read with
// one, so each kind is logged at its 1st, 2nd, 4th, 8th, ... reply of each minute: an outage
// logs a few lines a minute rather than one a read, and the log still shows it every minute, and
// any other kind at once. Lock-free; a reply racing the minute's reset may be counted in either
// minute, which costs at most a line.
class ErrorReplyThrottle final {
 public:
  // How many replies of this kind this minute, this one included, when it is to be logged; else 0.
  std::uint64_t CountToLog(std::int64_t now_seconds) {
    std::int64_t start = minute_start_.load(std::memory_order_relaxed);
    if (now_seconds - start >= 60 && minute_start_.compare_exchange_strong(start, now_seconds)) {
      in_minute_.store(0, std::memory_order_relaxed);
    }
    const std::uint64_t count = in_minute_.fetch_add(1, std::memory_order_relaxed) + 1;
    return (count & (count - 1)) == 0 ? count : 0;
  }

 private:
  std::atomic<std::int64_t> minute_start_{0};
  std::atomic<std::uint64_t> in_minute_{0};
};

}  // namespace

std::size_t ErrorReplyKind(const redisReply& reply) {
  const absl::string_view text = ReplyText(reply);
  const absl::string_view word = text.substr(0, text.find(' '));
  // Redis's ACL refusing a command or a key inside a script says ERR, not NOPERM: "The user
  // executing the script can't run this command" or "can't access at least one of the keys"
  // (7.0), "ACL failure in script" (7.2). It is the same fault as NOPERM (a release's new command
  // missing from the ACL rule, or a key prefix it does not allow) and heals the same way.
  if (absl::EqualsIgnoreCase(word, "ERR")) {
    const absl::string_view rest = absl::StripPrefix(text.substr(word.size()), " ");
    if (absl::StartsWith(rest, "The user executing the script can't") ||
        absl::StartsWith(rest, "ACL failure in script")) {
      return static_cast<std::size_t>(
          std::find(std::begin(kErrorReplyKinds), std::end(kErrorReplyKinds), "noperm") -
          std::begin(kErrorReplyKinds));
    }
  }
  std::size_t kind = 0;
  // "other" last: never matched by a word, so it is what is left.
  while (kind + 1 < std::size(kErrorReplyKinds) &&
         !absl::EqualsIgnoreCase(word, kErrorReplyKinds[kind])) {
    ++kind;
  }
  return kind;
}

absl::Status ErrorReplyStatus(const redisReply& reply) {
  // NOAUTH and NOPERM (an ACL without a command we need) are deployment faults that heal without
  // a change on the caller's side, once the password or the ACL is fixed: retrying is right.
  static ErrorReplyThrottle throttles[std::size(kErrorReplyKinds)];
  const absl::string_view text = ReplyText(reply);
  const std::size_t kind = ErrorReplyKind(reply);
  const bool transient = kind < kTransientErrorReplyKinds;
  const std::uint64_t count = throttles[kind].CountToLog(absl::ToUnixSeconds(absl::Now()));
  if (count != 0) {
    log::Warning("Redis replied with an error", {{"reply", text}, {"this_minute", count}});
  }
  if (!transient) return absl::InternalError("unexpected reply from Redis");
  absl::Status status = absl::UnavailableError("Redis is unavailable");
  const absl::string_view kind_name = kErrorReplyKinds[kind];
  // Not worth waiting for at start: the service's password or ACL is wrong (startup_retry.h).
  if (kind_name == "noauth" || kind_name == "noperm") return RefusedByStore(std::move(status));
  return status;
}

absl::StatusOr<int64_t> IntegerFromReply(const redisReply& reply) {
  if (reply.type == REDIS_REPLY_INTEGER) return static_cast<int64_t>(reply.integer);
  if (reply.type == REDIS_REPLY_NIL) return 0;
  int64_t value = 0;
  if (reply.type == REDIS_REPLY_STRING && absl::SimpleAtoi(ReplyText(reply), &value)) return value;
  if (reply.type == REDIS_REPLY_ERROR) return ErrorReplyStatus(reply);
  return absl::InternalError("unexpected reply from Redis");
}

}  // namespace newsroom::analytics
