#include "content-service/src/config.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/src/env.h"
#include "common/src/host_port.h"
#include "common/src/status_macros.h"

ABSL_FLAG(std::string, listen, newsroom::EnvOr("CONTENT_LISTEN", "127.0.0.1:50051"),
          "HOST:PORT to serve gRPC on; port 0 picks a free port (env CONTENT_LISTEN)");
ABSL_FLAG(std::string, analytics, newsroom::EnvOr("ANALYTICS_ADDR", "127.0.0.1:50052"),
          "HOST:PORT of analytics-service (env ANALYTICS_ADDR)");
ABSL_FLAG(std::string, db, newsroom::EnvOr("CONTENT_DB", "newsroom-content.db"),
          "SQLite database file, or :memory: (env CONTENT_DB)");
ABSL_FLAG(std::string, seed, newsroom::EnvOr("CONTENT_SEED", ""),
          "JSON file of sample articles, loaded when the store is empty (env CONTENT_SEED)");
ABSL_FLAG(absl::Duration, analytics_budget, absl::Milliseconds(100),
          "longest wait for analytics-service on a request's path; never past its deadline");
ABSL_FLAG(absl::Duration, stats_max_age, absl::Seconds(1),
          "how old the read stats served by GetArticle and ListArticles may be (0: always fresh)");
ABSL_FLAG(std::size_t, article_cache_bytes, std::size_t{16} << 20,
          "serialized size of the articles cached in front of the database (0: no cache); "
          "memory use is about twice that");
ABSL_FLAG(std::size_t, max_pending_reads, 100000,
          "reads kept in the outbox (in --db) while analytics-service is unreachable; more are "
          "dropped and counted");
ABSL_FLAG(absl::Duration, max_pending_read_age, absl::Hours(24),
          "how long a read may wait in the outbox before it is dropped and counted (at most 36h: "
          "analytics-service dedups read_ids for 48h)");
ABSL_FLAG(absl::Duration, shutdown_drain, absl::Seconds(10),
          "on SIGTERM, how long in-flight calls and queued reads get to finish");
ABSL_FLAG(std::string, editor_token_file, newsroom::EnvOr("EDITOR_TOKEN_FILE", ""),
          "file holding the editor token that CreateArticle/UpdateArticle/DeleteArticle require "
          "(`authorization: Bearer <token>`); re-read when it changes (env EDITOR_TOKEN_FILE; or "
          "the token itself in env EDITOR_TOKEN). Without one, writes are refused");

namespace newsroom::content {

absl::StatusOr<ContentConfig> ContentConfigFromFlags() {
  ContentConfig config{
      .listen_address = absl::GetFlag(FLAGS_listen),
      .analytics_address = absl::GetFlag(FLAGS_analytics),
      .db_path = absl::GetFlag(FLAGS_db),
      .seed_path = absl::GetFlag(FLAGS_seed),
      .analytics_budget = absl::GetFlag(FLAGS_analytics_budget),
      .stats_max_age = absl::GetFlag(FLAGS_stats_max_age),
      .article_cache_bytes = absl::GetFlag(FLAGS_article_cache_bytes),
      .max_pending_reads = absl::GetFlag(FLAGS_max_pending_reads),
      .max_pending_read_age = absl::GetFlag(FLAGS_max_pending_read_age),
      .shutdown_drain = absl::GetFlag(FLAGS_shutdown_drain),
      .editor_token_file = absl::GetFlag(FLAGS_editor_token_file),
      .editor_token = EnvOr("EDITOR_TOKEN", ""),
  };
  NEWSROOM_RETURN_IF_ERROR(ParseHostPort(config.listen_address, "--listen").status());
  NEWSROOM_RETURN_IF_ERROR(ParseHostPort(config.analytics_address, "--analytics").status());
  if (config.db_path.empty()) return absl::InvalidArgumentError("--db: must not be empty");
  if (config.analytics_budget <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--analytics_budget: must be positive");
  }
  if (config.stats_max_age < absl::ZeroDuration() || config.stats_max_age > absl::Seconds(1)) {
    return absl::InvalidArgumentError("--stats_max_age: must be between 0 and 1s");
  }
  if (config.max_pending_reads == 0) {
    return absl::InvalidArgumentError("--max_pending_reads: must be positive");
  }
  // A redelivered read is deduplicated only while analytics remembers its read_id (48 h).
  if (config.max_pending_read_age <= absl::ZeroDuration() ||
      config.max_pending_read_age > absl::Hours(36)) {
    return absl::InvalidArgumentError("--max_pending_read_age: must be between 0 and 36h");
  }
  if (config.shutdown_drain < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--shutdown_drain: must not be negative");
  }
  return config;
}

}  // namespace newsroom::content
