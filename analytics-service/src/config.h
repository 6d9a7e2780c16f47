#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/src/host_port.h"
#include "common/src/tls_options.h"

namespace newsroom::analytics {

// Flag values as given (from the environment or the command line; see flags.h), before checking.
struct RawConfig {
  std::string listen;                 // --listen, ANALYTICS_LISTEN
  std::string redis;                  // --redis, REDIS_ADDR
  std::string key_prefix;             // --key-prefix, ANALYTICS_KEY_PREFIX
  std::string redis_pool_size;        // --redis-pool-size, ANALYTICS_REDIS_POOL_SIZE
  std::string redis_timeout;          // --redis-timeout, ANALYTICS_REDIS_TIMEOUT
  std::string health_check_interval;  // --health-check-interval, ANALYTICS_HEALTH_CHECK_INTERVAL
  std::string shutdown_drain;         // --shutdown-drain, ANALYTICS_SHUTDOWN_DRAIN
  std::string max_connection_age = "5m";     // --max-connection-age, ANALYTICS_MAX_CONNECTION_AGE
  std::string max_in_flight_calls;           // --max-in-flight-calls, ANALYTICS_MAX_IN_FLIGHT_CALLS
  std::string reader_hash_key_file;          // --reader-hash-key-file, READER_HASH_KEY_FILE
  std::string redis_user;                    // --redis-user, REDIS_USERNAME
  std::string redis_password_file;           // --redis-password-file, REDIS_PASSWORD_FILE
  std::string redis_password;                // env REDIS_PASSWORD only: secrets stay out of argv
  std::string reader_hash_key;               // env READER_HASH_KEY only
  std::string tls_cert_file;                 // --tls-cert-file, ANALYTICS_TLS_CERT_FILE
  std::string tls_key_file;                  // --tls-key-file, ANALYTICS_TLS_KEY_FILE
  std::string tls_client_ca_file;            // --tls-client-ca-file, ANALYTICS_TLS_CLIENT_CA_FILE
  std::string tls_refresh_interval = "10s";  // --tls-refresh-interval, ANALYTICS_TLS_REFRESH_...
  std::string health_listen;                 // --health-listen, ANALYTICS_HEALTH_LISTEN
  std::string metrics_listen;                // --metrics-listen, ANALYTICS_METRICS_LISTEN
  std::string watch_interval = "1s";         // --watch-interval, ANALYTICS_WATCH_INTERVAL
  std::string changes_interval = "250ms";    // --changes-interval, ANALYTICS_CHANGES_INTERVAL
  std::string max_watchers = "1000";         // --max-watchers, ANALYTICS_MAX_WATCHERS
  std::string access_log_sample_rate = "0.01";  // --access-log-sample-rate, ANALYTICS_ACCESS_...
  std::string dedup_window = "48h";             // --dedup-window, ANALYTICS_DEDUP_WINDOW
  std::string startup_wait = "30s";             // --startup-wait, ANALYTICS_STARTUP_WAIT
};

struct Config {
  std::string listen_address;
  HostPort listen;
  HostPort redis;
  // ACL user for AUTH; empty: Redis's default user.
  std::string redis_user;
  // Empty: no AUTH.
  std::string redis_password;
  std::string key_prefix;
  int redis_pool_size = 4;
  absl::Duration redis_timeout;
  absl::Duration health_check_interval;
  absl::Duration shutdown_drain;
  // After it a client connection is closed (in-flight calls get shutdown_drain), so clients
  // re-resolve and reach replicas added since; infinite: never.
  absl::Duration max_connection_age;
  // Calls served at once; more get RESOURCE_EXHAUSTED at once.
  int max_in_flight_calls = 10000;
  // WatchReadStats: how often the watched articles' stats are read and sent.
  absl::Duration watch_interval = absl::Seconds(1);
  // WatchReadStatsChanges: how often the change log is read and a message sent.
  absl::Duration changes_interval = absl::Milliseconds(250);
  // WatchReadStats streams open at once, and WatchReadStatsChanges streams open at once; more
  // get RESOURCE_EXHAUSTED.
  int max_watchers = 1000;
  // Empty: use (or create) the key kept in Redis.
  std::string reader_hash_key;
  // No certificate: plaintext. With a client CA every call needs a client certificate it signed.
  ServerTlsOptions tls;
  // The plaintext health-only port; empty address: none.
  std::string health_listen_address;
  HostPort health_listen;
  // The plaintext HTTP port of GET /metrics (Prometheus text format); empty address: none.
  std::string metrics_listen_address;
  HostPort metrics_listen;
  // Share of new traces (calls without a valid traceparent) sampled for the access log.
  double access_log_sample_rate = 0.01;
  // How long a read_id is remembered (its dedup marker's lifetime in Redis).
  absl::Duration dedup_window = absl::Hours(48);
  // At start, how long a Redis that does not answer is tried again before the process exits.
  absl::Duration startup_wait = absl::Seconds(30);
};

// Checks and converts `raw`, reading the hash key file when given. Returns INVALID_ARGUMENT naming
// the flag for any bad value.
[[nodiscard]] absl::StatusOr<Config> ParseConfig(const RawConfig& raw);

}  // namespace newsroom::analytics
