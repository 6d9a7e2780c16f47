#include "content-service/src/config.h"

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "common/src/env.h"
#include "common/src/env_flags.h"
#include "common/src/host_port.h"
#include "common/src/status_macros.h"
#include "common/src/tls_options.h"
#include "content-service/src/postgres_pool.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "HOST:PORT to serve gRPC on; port 0 picks a free port (env CONTENT_LISTEN)");
ABSL_FLAG(std::string, analytics, "127.0.0.1:50052",
          "HOST:PORT of analytics-service, or a gRPC target such as dns:///HOST:PORT (a headless "
          "Service: calls are spread over every address it resolves to) (env ANALYTICS_ADDR)");
ABSL_FLAG(std::string, db, "newsroom-content.db",
          "SQLite database file, :memory:, or a postgresql://USER@HOST:PORT/DB URL without a "
          "password (env CONTENT_DB)");
ABSL_FLAG(std::string, db_password_file, "",
          "file holding the PostgreSQL password (one trailing newline trimmed); else libpq reads "
          "env PGPASSWORD or the PGPASSFILE file (env CONTENT_DB_PASSWORD_FILE)");
ABSL_FLAG(int, db_pool_size, 4,
          "PostgreSQL connections kept at most, each opened when first needed (env "
          "CONTENT_DB_POOL_SIZE)");
ABSL_FLAG(std::string, outbox_db, "",
          "SQLite file of the durable read outbox; default: --db itself for SQLite, "
          "newsroom-outbox.db for PostgreSQL (env CONTENT_OUTBOX_DB)");
ABSL_FLAG(std::string, seed, "",
          "JSON file of sample articles, loaded when the store is empty (env CONTENT_SEED)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain to serve TLS with; without it (and --tls_key_file) the port is "
          "PLAINTEXT (env CONTENT_TLS_CERT_FILE)");
ABSL_FLAG(std::string, tls_key_file, "",
          "PEM private key of --tls_cert_file (env CONTENT_TLS_KEY_FILE)");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle: when set, every caller must present a certificate it signed (env "
          "CONTENT_TLS_CLIENT_CA_FILE)");
ABSL_FLAG(std::string, tls_refresh_interval, "10s",
          "how often every TLS file (also --analytics_tls_*) is re-read, so rotated certificates "
          "apply without a restart; whole seconds (env CONTENT_TLS_REFRESH_INTERVAL)");
ABSL_FLAG(std::string, health_listen, "",
          "HOST:PORT of a plaintext port serving only grpc.health.v1, for probes that cannot do "
          "TLS; empty: none (env CONTENT_HEALTH_LISTEN)");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT of a plaintext HTTP port serving Prometheus metrics at /metrics; empty: no "
          "metrics (env CONTENT_METRICS_LISTEN)");
ABSL_FLAG(std::string, analytics_tls_ca_file, "",
          "PEM CA bundle that verifies analytics-service's certificate; without it the channel to "
          "analytics-service is PLAINTEXT (env CONTENT_ANALYTICS_TLS_CA_FILE)");
ABSL_FLAG(std::string, analytics_tls_cert_file, "",
          "PEM client certificate presented to analytics-service (mutual TLS) (env "
          "CONTENT_ANALYTICS_TLS_CERT_FILE)");
ABSL_FLAG(std::string, analytics_tls_key_file, "",
          "PEM private key of --analytics_tls_cert_file (env CONTENT_ANALYTICS_TLS_KEY_FILE)");
ABSL_FLAG(absl::Duration, analytics_budget, absl::Milliseconds(100),
          "longest wait for analytics-service on a request's path; never past its deadline (env "
          "CONTENT_ANALYTICS_BUDGET)");
ABSL_FLAG(absl::Duration, stats_max_age, absl::Seconds(1),
          "how old the read stats served by GetArticle and ListArticles may be (0: always fresh; "
          "at most 1s) (env CONTENT_STATS_MAX_AGE)");
ABSL_FLAG(bool, stats_feed, true,
          "keep cached read stats current from analytics-service's change stream "
          "(WatchReadStatsChanges), so that they need no refetching as they age; false: refetch "
          "(env CONTENT_STATS_FEED)");
// 8 MiB holds about 2 500 articles of 3 kB, a newsroom's hot set, and keeps content-service's peak
// resident memory under 64 MB at a catalogue of 100 000 articles (docs/performance.md).
ABSL_FLAG(std::size_t, article_cache_bytes, std::size_t{8} << 20,
          "serialized size of the articles cached in front of the database (0: no cache); memory "
          "use is about 5% more than that. With PostgreSQL the cache follows other replicas' "
          "writes through LISTEN/NOTIFY, and serves nothing while it cannot "
          "(env CONTENT_ARTICLE_CACHE_BYTES)");
// 2 MiB holds about 30 pages of 20 articles of 3 kB, counted as if none shared its articles' bytes
// with the article cache (the hot ones do): front pages and sections, not a crawl.
ABSL_FLAG(std::size_t, listing_cache_bytes, std::size_t{2} << 20,
          "size of the ListArticles pages cached in front of the database, counting every "
          "article's bytes (0: no listing is cached); a change drops the pages it can alter. "
          "Needs the article cache (--article_cache_bytes above 0) "
          "(env CONTENT_LISTING_CACHE_BYTES)");
ABSL_FLAG(std::size_t, max_pending_reads, 100000,
          "reads kept in the outbox (--outbox_db) while analytics-service is unreachable; more are "
          "dropped and counted (env CONTENT_MAX_PENDING_READS)");
ABSL_FLAG(absl::Duration, max_pending_read_age, absl::Hours(24),
          "how long a read may wait in the outbox before it is dropped and counted (at most 36h: "
          "analytics-service dedups read_ids for 48h by default; keep this well inside its "
          "--dedup-window) (env CONTENT_MAX_PENDING_READ_AGE)");
ABSL_FLAG(int, max_in_flight_calls, 10000,
          "Get/Read/List calls served at once; more are refused at once with RESOURCE_EXHAUSTED, "
          "which bounds memory under a flood (env CONTENT_MAX_IN_FLIGHT_CALLS)");
// 64 MiB: a flood of large answers, or of clients that do not read theirs, stops there rather than
// at the pod's 256 MiB limit. An article's bytes count once however many GetArticle and
// ReadArticle responses share them (from the article cache); a page counts all of its own.
// --max_in_flight_calls binds first for reads of articles of a few kB (10 000 x 3 kB is 30 MB), and
// the largest page (100 articles of 200 kB, 20 MB) fits.
ABSL_FLAG(std::int64_t, max_response_bytes_in_flight, std::int64_t{64} << 20,
          "bytes the GetArticle/ReadArticle/ListArticles/ListMostReadArticles responses in flight "
          "may hold until sent (an article cache's bytes once however many responses share them, "
          "a page's in full); a call that would pass it is refused with RESOURCE_EXHAUSTED before "
          "it records a read. One larger response is served only while no other is in flight "
          "(env CONTENT_MAX_RESPONSE_BYTES_IN_FLIGHT)");
ABSL_FLAG(int, max_watchers, 1000,
          "WatchArticleReadStats streams open at once (each relays one analytics-service stream); "
          "more are refused with RESOURCE_EXHAUSTED (env CONTENT_MAX_WATCHERS)");
ABSL_FLAG(absl::Duration, startup_wait, absl::Seconds(30),
          "at start, how long to keep trying a PostgreSQL article database that does not answer "
          "before exiting; 0: exit at once (env CONTENT_STARTUP_WAIT)");
ABSL_FLAG(absl::Duration, shutdown_drain, absl::Seconds(10),
          "on SIGTERM, how long in-flight calls and queued reads get to finish (env "
          "CONTENT_SHUTDOWN_DRAIN)");
ABSL_FLAG(
    absl::Duration, max_connection_age, absl::Minutes(5),
    "a client connection is closed (GOAWAY, in-flight calls get --shutdown_drain) after about "
    "this long, so clients re-resolve the name and spread over new replicas; inf: never (env "
    "CONTENT_MAX_CONNECTION_AGE)");
ABSL_FLAG(double, access_log_sample_rate, 0.01,
          "share (0 to 1) of new traces whose calls get a JSON access line on stderr; a caller's "
          "traceparent decides for its own trace, and calls failing server-side are always "
          "logged (env CONTENT_ACCESS_LOG_SAMPLE_RATE)");
ABSL_FLAG(std::string, editor_token_file, "",
          "file holding the editor token that CreateArticle/UpdateArticle/DeleteArticle require "
          "(`authorization: Bearer <token>`), re-read when it changes; or the token itself in env "
          "EDITOR_TOKEN. Without either, writes are refused (env EDITOR_TOKEN_FILE)");

namespace newsroom::content {
namespace {

// Every flag above, with its variable. Existing names are kept as deployments use them; new ones
// take the CONTENT_ prefix, whose unknown members content-service refuses.
constexpr EnvFlag kEnvFlags[] = {
    {"CONTENT_LISTEN", "listen"},
    {"ANALYTICS_ADDR", "analytics"},
    {"CONTENT_DB", "db"},
    {"CONTENT_DB_PASSWORD_FILE", "db_password_file"},
    {"CONTENT_DB_POOL_SIZE", "db_pool_size"},
    {"CONTENT_OUTBOX_DB", "outbox_db"},
    {"CONTENT_SEED", "seed"},
    {"CONTENT_TLS_CERT_FILE", "tls_cert_file"},
    {"CONTENT_TLS_KEY_FILE", "tls_key_file"},
    {"CONTENT_TLS_CLIENT_CA_FILE", "tls_client_ca_file"},
    {"CONTENT_TLS_REFRESH_INTERVAL", "tls_refresh_interval"},
    {"CONTENT_HEALTH_LISTEN", "health_listen"},
    {"CONTENT_METRICS_LISTEN", "metrics_listen"},
    {"CONTENT_ANALYTICS_TLS_CA_FILE", "analytics_tls_ca_file"},
    {"CONTENT_ANALYTICS_TLS_CERT_FILE", "analytics_tls_cert_file"},
    {"CONTENT_ANALYTICS_TLS_KEY_FILE", "analytics_tls_key_file"},
    {"CONTENT_ANALYTICS_BUDGET", "analytics_budget"},
    {"CONTENT_STATS_MAX_AGE", "stats_max_age"},
    {"CONTENT_STATS_FEED", "stats_feed"},
    {"CONTENT_ARTICLE_CACHE_BYTES", "article_cache_bytes"},
    {"CONTENT_LISTING_CACHE_BYTES", "listing_cache_bytes"},
    {"CONTENT_MAX_PENDING_READS", "max_pending_reads"},
    {"CONTENT_MAX_PENDING_READ_AGE", "max_pending_read_age"},
    {"CONTENT_MAX_IN_FLIGHT_CALLS", "max_in_flight_calls"},
    {"CONTENT_MAX_RESPONSE_BYTES_IN_FLIGHT", "max_response_bytes_in_flight"},
    {"CONTENT_MAX_WATCHERS", "max_watchers"},
    {"CONTENT_SHUTDOWN_DRAIN", "shutdown_drain"},
    {"CONTENT_STARTUP_WAIT", "startup_wait"},
    {"CONTENT_MAX_CONNECTION_AGE", "max_connection_age"},
    {"CONTENT_ACCESS_LOG_SAMPLE_RATE", "access_log_sample_rate"},
    {"EDITOR_TOKEN_FILE", "editor_token_file"},
};

// Secrets, never flags: EDITOR_TOKEN is read below; libpq reads the PostgreSQL ones itself.
constexpr const char* kEnvOnly[] = {"EDITOR_TOKEN", "PGPASSWORD", "PGPASSFILE"};

}  // namespace

const EnvSettings& ContentEnvSettings() {
  static constexpr EnvSettings kSettings{
      .prefix = "CONTENT_", .flags = kEnvFlags, .env_only = kEnvOnly};
  return kSettings;
}

absl::StatusOr<ContentConfig> ContentConfigFromFlags() {
  ContentConfig config{
      .listen_address = absl::GetFlag(FLAGS_listen),
      .analytics_address = absl::GetFlag(FLAGS_analytics),
      .db_path = absl::GetFlag(FLAGS_db),
      .db_password_file = absl::GetFlag(FLAGS_db_password_file),
      .db_pool_size = absl::GetFlag(FLAGS_db_pool_size),
      .outbox_path = absl::GetFlag(FLAGS_outbox_db),
      .seed_path = absl::GetFlag(FLAGS_seed),
      .tls = {.cert_file = absl::GetFlag(FLAGS_tls_cert_file),
              .key_file = absl::GetFlag(FLAGS_tls_key_file),
              .client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file)},
      .health_listen_address = absl::GetFlag(FLAGS_health_listen),
      .metrics_listen_address = absl::GetFlag(FLAGS_metrics_listen),
      .analytics_tls = {.ca_file = absl::GetFlag(FLAGS_analytics_tls_ca_file),
                        .cert_file = absl::GetFlag(FLAGS_analytics_tls_cert_file),
                        .key_file = absl::GetFlag(FLAGS_analytics_tls_key_file)},
      .analytics_budget = absl::GetFlag(FLAGS_analytics_budget),
      .stats_max_age = absl::GetFlag(FLAGS_stats_max_age),
      .stats_feed = absl::GetFlag(FLAGS_stats_feed),
      .article_cache_bytes = absl::GetFlag(FLAGS_article_cache_bytes),
      .listing_cache_bytes = absl::GetFlag(FLAGS_listing_cache_bytes),
      .max_pending_reads = absl::GetFlag(FLAGS_max_pending_reads),
      .max_pending_read_age = absl::GetFlag(FLAGS_max_pending_read_age),
      .shutdown_drain = absl::GetFlag(FLAGS_shutdown_drain),
      .startup_wait = absl::GetFlag(FLAGS_startup_wait),
      .max_connection_age = absl::GetFlag(FLAGS_max_connection_age),
      .max_in_flight_calls = absl::GetFlag(FLAGS_max_in_flight_calls),
      .max_response_bytes_in_flight = absl::GetFlag(FLAGS_max_response_bytes_in_flight),
      .max_watchers = absl::GetFlag(FLAGS_max_watchers),
      .access_log_sample_rate = absl::GetFlag(FLAGS_access_log_sample_rate),
      .editor_token_file = absl::GetFlag(FLAGS_editor_token_file),
      .editor_token = EnvOr("EDITOR_TOKEN", ""),
  };
  NEWSROOM_RETURN_IF_ERROR(ParseHostPort(config.listen_address, "--listen").status());
  NEWSROOM_RETURN_IF_ERROR(CheckChannelTarget(config.analytics_address, "--analytics"));
  if (!config.health_listen_address.empty()) {
    NEWSROOM_RETURN_IF_ERROR(
        ParseHostPort(config.health_listen_address, "--health_listen").status());
  }
  if (!config.metrics_listen_address.empty()) {
    NEWSROOM_RETURN_IF_ERROR(
        ParseHostPort(config.metrics_listen_address, "--metrics_listen").status());
  }
  const std::string refresh = absl::GetFlag(FLAGS_tls_refresh_interval);
  if (!absl::ParseDuration(refresh, &config.tls.refresh_interval)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls_refresh_interval: expected a duration such as 10s, got \"", refresh, "\""));
  }
  config.analytics_tls.refresh_interval = config.tls.refresh_interval;
  NEWSROOM_RETURN_IF_ERROR(
      CheckServerTlsOptions(config.tls, {.cert = "--tls_cert_file",
                                         .key = "--tls_key_file",
                                         .ca = "--tls_client_ca_file",
                                         .refresh = "--tls_refresh_interval"}));
  NEWSROOM_RETURN_IF_ERROR(
      CheckClientTlsOptions(config.analytics_tls, {.cert = "--analytics_tls_cert_file",
                                                   .key = "--analytics_tls_key_file",
                                                   .ca = "--analytics_tls_ca_file",
                                                   .refresh = "--tls_refresh_interval"}));
  if (config.db_path.empty()) return absl::InvalidArgumentError("--db: must not be empty");
  if (IsPostgresUrl(config.db_path)) {
    NEWSROOM_RETURN_IF_ERROR(CheckPostgresUrl(config.db_path));
    if (config.db_pool_size < 1 || config.db_pool_size > 100) {
      return absl::InvalidArgumentError("--db_pool_size: must be between 1 and 100");
    }
    if (config.outbox_path.empty()) config.outbox_path = "newsroom-outbox.db";
  } else {
    if (!config.db_password_file.empty()) {
      return absl::InvalidArgumentError("--db_password_file: only for a postgresql:// --db");
    }
    if (config.outbox_path.empty()) config.outbox_path = config.db_path;
  }
  if (config.analytics_budget <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--analytics_budget: must be positive");
  }
  if (config.stats_max_age < absl::ZeroDuration() || config.stats_max_age > absl::Seconds(1)) {
    return absl::InvalidArgumentError("--stats_max_age: must be between 0 and 1s");
  }
  if (config.max_watchers < 1 || config.max_watchers > 100000) {
    return absl::InvalidArgumentError("--max_watchers: must be between 1 and 100000");
  }
  if (config.max_pending_reads == 0) {
    return absl::InvalidArgumentError("--max_pending_reads: must be positive");
  }
  // A redelivered read is deduplicated only while analytics remembers its read_id (48 h by
  // default; an operator who shortens --dedup-window must lower this too, as the flag says).
  if (config.max_pending_read_age <= absl::ZeroDuration() ||
      config.max_pending_read_age > absl::Hours(36)) {
    return absl::InvalidArgumentError("--max_pending_read_age: must be between 0 and 36h");
  }
  if (config.max_in_flight_calls < 1 || config.max_in_flight_calls > 1000000) {
    return absl::InvalidArgumentError("--max_in_flight_calls: must be between 1 and 1000000");
  }
  if (config.max_response_bytes_in_flight < (std::int64_t{1} << 20) ||
      config.max_response_bytes_in_flight > (std::int64_t{1} << 40)) {
    return absl::InvalidArgumentError(
        "--max_response_bytes_in_flight: must be between 1 MiB (1048576) and 1 TiB");
  }
  if (config.shutdown_drain < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--shutdown_drain: must not be negative");
  }
  if (config.startup_wait < absl::ZeroDuration() ||
      config.startup_wait == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("--startup_wait: must be a finite duration, 0 or more");
  }
  if (config.max_connection_age <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--max_connection_age: must be positive (inf: never)");
  }
  if (!(config.access_log_sample_rate >= 0 && config.access_log_sample_rate <= 1)) {
    return absl::InvalidArgumentError("--access_log_sample_rate: must be between 0 and 1");
  }
  return config;
}

}  // namespace newsroom::content
