#pragma once

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace newsroom::analytics {

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
// A reply owned by the caller; nested replies belong to their parent.
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

// One command as its arguments; sent with the argv API, so arguments are never parsed by us or
// interpolated into a command string.
using RedisCommand = std::vector<std::string>;

struct RedisConnectionOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  // ACL user (Redis 6+) sent with AUTH; empty: the default user.
  std::string user;
  std::string password;  // AUTH with it on every (re)connect, when not empty
  absl::Duration connect_timeout = absl::Seconds(1);
  absl::Duration command_timeout = absl::Seconds(1);
};

// One blocking hiredis connection, for one thread at a time. It connects lazily; after any
// connection error (refused, reset, timed out) it drops the context and the next call reconnects.
// Error replies from Redis are not connection errors: they come back as REDIS_REPLY_ERROR replies.
class RedisConnection final {
 public:
  explicit RedisConnection(RedisConnectionOptions options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Connects (and authenticates) unless connected. Returns UNAVAILABLE with the reason when Redis
  // cannot be reached or refuses the user or password (the message names the user and Redis's
  // error, never the password; a refusal is also tagged RefusedByStore,
  // common/src/startup_retry.h).
  [[nodiscard]] absl::Status Connect();

  // True while a context is open (it may still turn out broken on the next command).
  [[nodiscard]] bool connected() const { return context_ != nullptr; }

  // Sends `commands` as one pipeline and returns one reply per command, in order. Returns
  // UNAVAILABLE (and drops the connection) on any connection error; no reply is returned then, and
  // the commands may or may not have run.
  [[nodiscard]] absl::StatusOr<std::vector<RedisReply>> Pipeline(
      absl::Span<const RedisCommand> commands);

  // Pipeline() of one command.
  [[nodiscard]] absl::StatusOr<RedisReply> Run(const RedisCommand& command);

  // Closes the connection; the next call reconnects.
  void Disconnect();

  [[nodiscard]] std::string address() const;

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const { redisFree(context); }
  };

  absl::Status ConnectionError(absl::string_view what);

  RedisConnectionOptions options_;
  std::unique_ptr<redisContext, ContextDeleter> context_;
};

// True when `reply` is an error reply whose message starts with `prefix` (e.g. "NOSCRIPT").
[[nodiscard]] bool IsErrorReply(const redisReply& reply, absl::string_view prefix = "");

// The kinds of error reply told apart in the log's throttle and the error-reply metric: the first
// word of the replies Redis is known to send, lowercase (the metric's `kind` label), then "other".
// The first kTransientErrorReplyKinds are worth retrying (ErrorReplyStatus).
inline constexpr absl::string_view kErrorReplyKinds[] = {
    "loading", "busy",        "readonly",  "masterdown", "tryagain", "oom",  "noauth",
    "noperm",  "clusterdown", "wrongtype", "noscript",   "err",      "other"};
inline constexpr std::size_t kTransientErrorReplyKinds = 9;

// The index in kErrorReplyKinds of an error reply's kind (its message's first word).
[[nodiscard]] std::size_t ErrorReplyKind(const redisReply& reply);

// Maps an error reply to a status: UNAVAILABLE for the transient ones (LOADING, BUSY, READONLY,
// MASTERDOWN, TRYAGAIN, OOM, NOAUTH, NOPERM, ...), INTERNAL for the rest. NOAUTH and NOPERM are
// also tagged RefusedByStore (common/src/startup_retry.h): not worth waiting for at start. The
// message stays generic; the detail is written to stderr, for the 1st, 2nd, 4th, 8th, ... reply of
// each kind in each minute.
[[nodiscard]] absl::Status ErrorReplyStatus(const redisReply& reply);

// Reads an integer reply (or a string holding one). Returns INTERNAL for any other reply.
[[nodiscard]] absl::StatusOr<int64_t> IntegerFromReply(const redisReply& reply);

}  // namespace newsroom::analytics
