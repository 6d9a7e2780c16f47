#include "analytics-service/src/flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "common/src/env.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052",
          "HOST:PORT to serve gRPC on; port 0 picks a free port (env ANALYTICS_LISTEN)");
ABSL_FLAG(std::string, redis, "127.0.0.1:6379", "Redis HOST:PORT (env REDIS_ADDR)");
ABSL_FLAG(std::string, redis_user, "",
          "Redis ACL user to AUTH as (empty: the default user); see scripts/redis-acl for the "
          "rule it needs (env REDIS_USERNAME)");
// The password itself is never a flag: `ps` shows every process's command line.
ABSL_FLAG(std::string, redis_password_file, "",
          "file holding the Redis password; or the password itself in env REDIS_PASSWORD (env "
          "REDIS_PASSWORD_FILE)");
ABSL_FLAG(std::string, key_prefix,
          "newsroom:", "prefix of every Redis key (env ANALYTICS_KEY_PREFIX)");
ABSL_FLAG(std::string, redis_pool_size, "4",
          "Redis connections, each with one worker thread (env ANALYTICS_REDIS_POOL_SIZE)");
ABSL_FLAG(std::string, redis_timeout, "1s",
          "connect and command timeout for Redis (env ANALYTICS_REDIS_TIMEOUT)");
ABSL_FLAG(std::string, health_check_interval, "500ms",
          "how often Redis is pinged for the health status (env ANALYTICS_HEALTH_CHECK_INTERVAL)");
ABSL_FLAG(std::string, shutdown_drain, "10s",
          "on SIGTERM/SIGINT, how long in-flight calls may finish (env ANALYTICS_SHUTDOWN_DRAIN)");
ABSL_FLAG(
    std::string, max_connection_age, "5m",
    "a client connection is closed (GOAWAY, in-flight calls get --shutdown-drain) after about "
    "this long, so clients re-resolve the name and spread over new replicas; inf: never (env "
    "ANALYTICS_MAX_CONNECTION_AGE)");
ABSL_FLAG(std::string, max_in_flight_calls, "10000",
          "calls served at once; more are refused at once with RESOURCE_EXHAUSTED (env "
          "ANALYTICS_MAX_IN_FLIGHT_CALLS)");
ABSL_FLAG(std::string, watch_interval, "1s",
          "how often WatchReadStats streams get updates: the stats of every watched article are "
          "read from Redis once per interval, 10ms to 1h (env ANALYTICS_WATCH_INTERVAL)");
ABSL_FLAG(std::string, changes_interval, "250ms",
          "how often WatchReadStatsChanges streams get a message: the change log in Redis is read "
          "once per interval while a stream is open, 10ms to 1s (env ANALYTICS_CHANGES_INTERVAL)");
ABSL_FLAG(std::string, max_watchers, "1000",
          "WatchReadStats streams open at once, each watching up to 100 articles; more are refused "
          "with RESOURCE_EXHAUSTED (env ANALYTICS_MAX_WATCHERS)");
ABSL_FLAG(std::string, startup_wait, "30s",
          "at start, how long to keep trying a Redis that does not answer before exiting; 0: "
          "exit at once (env ANALYTICS_STARTUP_WAIT)");
ABSL_FLAG(std::string, dedup_window, "48h",
          "how long a read_id is remembered at least (at most twice that), so that a retry of it "
          "counts once; every read keeps a marker of about 21 bytes in Redis for one to two "
          "windows; whole seconds from 1m to 720h, the same on every replica. content-service's "
          "--max_pending_read_age must stay well inside it (env ANALYTICS_DEDUP_WINDOW)");
ABSL_FLAG(std::string, reader_hash_key_file, "",
          "file holding the reader-id HMAC key, or the key itself in env READER_HASH_KEY; without "
          "either, a random key is created once and kept in Redis (env READER_HASH_KEY_FILE)");
ABSL_FLAG(std::string, tls_cert_file, "",
          "PEM certificate chain to serve TLS with; without it (and --tls-key-file) the port is "
          "PLAINTEXT (env ANALYTICS_TLS_CERT_FILE)");
ABSL_FLAG(std::string, tls_key_file, "",
          "PEM private key of --tls-cert-file (env ANALYTICS_TLS_KEY_FILE)");
ABSL_FLAG(std::string, tls_client_ca_file, "",
          "PEM CA bundle: when set, every call needs a client certificate it signed (mutual TLS) "
          "(env ANALYTICS_TLS_CLIENT_CA_FILE)");
ABSL_FLAG(std::string, tls_refresh_interval, "10s",
          "how often the TLS files are re-read, so rotated certificates apply without a restart; "
          "whole seconds (env ANALYTICS_TLS_REFRESH_INTERVAL)");
ABSL_FLAG(std::string, health_listen, "",
          "HOST:PORT of a plaintext port serving only grpc.health.v1, for probes that cannot do "
          "TLS; empty: none (env ANALYTICS_HEALTH_LISTEN)");
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT of a plaintext HTTP port serving Prometheus metrics at /metrics; empty: no "
          "metrics (env ANALYTICS_METRICS_LISTEN)");
ABSL_FLAG(std::string, access_log_sample_rate, "0.01",
          "share (0 to 1) of new traces whose calls get a JSON access line on stderr; a caller's "
          "traceparent (content-service sends one) decides for its own trace, and calls failing "
          "server-side are always logged (env ANALYTICS_ACCESS_LOG_SAMPLE_RATE)");

namespace newsroom::analytics {
namespace {

// Every flag above, with its variable. Existing names are kept as deployments use them; new ones
// take the ANALYTICS_ prefix, whose unknown members analytics-service refuses.
constexpr EnvFlag kEnvFlags[] = {
    {"ANALYTICS_LISTEN", "listen"},
    {"REDIS_ADDR", "redis"},
    {"REDIS_USERNAME", "redis_user"},
    {"REDIS_PASSWORD_FILE", "redis_password_file"},
    {"ANALYTICS_KEY_PREFIX", "key_prefix"},
    {"ANALYTICS_REDIS_POOL_SIZE", "redis_pool_size"},
    {"ANALYTICS_REDIS_TIMEOUT", "redis_timeout"},
    {"ANALYTICS_HEALTH_CHECK_INTERVAL", "health_check_interval"},
    {"ANALYTICS_SHUTDOWN_DRAIN", "shutdown_drain"},
    {"ANALYTICS_MAX_CONNECTION_AGE", "max_connection_age"},
    {"ANALYTICS_MAX_IN_FLIGHT_CALLS", "max_in_flight_calls"},
    {"ANALYTICS_WATCH_INTERVAL", "watch_interval"},
    {"ANALYTICS_CHANGES_INTERVAL", "changes_interval"},
    {"ANALYTICS_MAX_WATCHERS", "max_watchers"},
    {"ANALYTICS_DEDUP_WINDOW", "dedup_window"},
    {"ANALYTICS_STARTUP_WAIT", "startup_wait"},
    {"READER_HASH_KEY_FILE", "reader_hash_key_file"},
    {"ANALYTICS_TLS_CERT_FILE", "tls_cert_file"},
    {"ANALYTICS_TLS_KEY_FILE", "tls_key_file"},
    {"ANALYTICS_TLS_CLIENT_CA_FILE", "tls_client_ca_file"},
    {"ANALYTICS_TLS_REFRESH_INTERVAL", "tls_refresh_interval"},
    {"ANALYTICS_HEALTH_LISTEN", "health_listen"},
    {"ANALYTICS_METRICS_LISTEN", "metrics_listen"},
    {"ANALYTICS_ACCESS_LOG_SAMPLE_RATE", "access_log_sample_rate"},
};

// Secrets, never flags (`ps` shows command lines); read in RawConfigFromFlags.
constexpr const char* kEnvOnly[] = {"REDIS_PASSWORD", "READER_HASH_KEY"};

}  // namespace

const EnvSettings& AnalyticsEnvSettings() {
  static constexpr EnvSettings kSettings{
      .prefix = "ANALYTICS_", .flags = kEnvFlags, .env_only = kEnvOnly};
  return kSettings;
}

RawConfig RawConfigFromFlags() {
  return RawConfig{
      .listen = absl::GetFlag(FLAGS_listen),
      .redis = absl::GetFlag(FLAGS_redis),
      .key_prefix = absl::GetFlag(FLAGS_key_prefix),
      .redis_pool_size = absl::GetFlag(FLAGS_redis_pool_size),
      .redis_timeout = absl::GetFlag(FLAGS_redis_timeout),
      .health_check_interval = absl::GetFlag(FLAGS_health_check_interval),
      .shutdown_drain = absl::GetFlag(FLAGS_shutdown_drain),
      .max_connection_age = absl::GetFlag(FLAGS_max_connection_age),
      .max_in_flight_calls = absl::GetFlag(FLAGS_max_in_flight_calls),
      .reader_hash_key_file = absl::GetFlag(FLAGS_reader_hash_key_file),
      .redis_user = absl::GetFlag(FLAGS_redis_user),
      .redis_password_file = absl::GetFlag(FLAGS_redis_password_file),
      .redis_password = EnvOr("REDIS_PASSWORD", ""),
      .reader_hash_key = EnvOr("READER_HASH_KEY", ""),
      .tls_cert_file = absl::GetFlag(FLAGS_tls_cert_file),
      .tls_key_file = absl::GetFlag(FLAGS_tls_key_file),
      .tls_client_ca_file = absl::GetFlag(FLAGS_tls_client_ca_file),
      .tls_refresh_interval = absl::GetFlag(FLAGS_tls_refresh_interval),
      .health_listen = absl::GetFlag(FLAGS_health_listen),
      .metrics_listen = absl::GetFlag(FLAGS_metrics_listen),
      .watch_interval = absl::GetFlag(FLAGS_watch_interval),
      .changes_interval = absl::GetFlag(FLAGS_changes_interval),
      .max_watchers = absl::GetFlag(FLAGS_max_watchers),
      .access_log_sample_rate = absl::GetFlag(FLAGS_access_log_sample_rate),
      .dedup_window = absl::GetFlag(FLAGS_dedup_window),
      .startup_wait = absl::GetFlag(FLAGS_startup_wait),
  };
}

}  // namespace newsroom::analytics
