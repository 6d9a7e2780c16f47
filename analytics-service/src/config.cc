#include "analytics-service/src/config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace newsroom::analytics {
namespace {

absl::Status Invalid(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", why));
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view text, absl::string_view flag,
                                                     bool allow_zero) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) || duration < absl::ZeroDuration() ||
      (!allow_zero && duration == absl::ZeroDuration()) || duration == absl::InfiniteDuration()) {
    return Invalid(flag, absl::StrCat("expected a ", allow_zero ? "" : "positive ",
                                      "duration such as 500ms or 10s, got \"", text, "\""));
  }
  return duration;
}

// Fills the Redis user and password. The password comes from env REDIS_PASSWORD or a file, never
// a flag (`ps` shows flags); messages name the source, never the value.
absl::Status ParseRedisAuth(const RawConfig& raw, Config& config) {
  if (raw.redis_user.find_first_of(" \t\r\n") != std::string::npos) {
    return Invalid("redis-user", "must not contain whitespace");
  }
  config.redis_user = raw.redis_user;
  config.redis_password = raw.redis_password;
  if (!raw.redis_password_file.empty()) {
    if (!raw.redis_password.empty()) {
      return Invalid("redis-password-file", "set either it or env REDIS_PASSWORD, not both");
    }
    std::ifstream file(raw.redis_password_file, std::ios::binary);
    if (!file) {
      return Invalid("redis-password-file",
                     absl::StrCat("cannot read \"", raw.redis_password_file, "\""));
    }
    std::ostringstream contents;
    contents << file.rdbuf();
    // Line ends only: a file written by `echo` or an editor ends with one.
    config.redis_password = contents.str();
    while (!config.redis_password.empty() &&
           (config.redis_password.back() == '\n' || config.redis_password.back() == '\r')) {
      config.redis_password.pop_back();
    }
    if (config.redis_password.empty()) {
      return Invalid("redis-password-file",
                     absl::StrCat("\"", raw.redis_password_file, "\" is empty"));
    }
  }
  // An ACL user without a password would only fail at AUTH; say so at start instead.
  if (!config.redis_user.empty() && config.redis_password.empty()) {
    return Invalid("redis-user",
                   "needs a password: set env REDIS_PASSWORD or --redis-password-file");
  }
  return absl::OkStatus();
}

// Fills the TLS options and the health port.
absl::Status ParseTlsAndHealth(const RawConfig& raw, Config& config) {
  config.tls = ServerTlsOptions{.cert_file = raw.tls_cert_file,
                                .key_file = raw.tls_key_file,
                                .client_ca_file = raw.tls_client_ca_file};
  if (!absl::ParseDuration(raw.tls_refresh_interval, &config.tls.refresh_interval)) {
    return Invalid("tls-refresh-interval", absl::StrCat("expected a duration such as 10s, got \"",
                                                        raw.tls_refresh_interval, "\""));
  }
  if (absl::Status status =
          CheckServerTlsOptions(config.tls, {.cert = "--tls-cert-file",
                                             .key = "--tls-key-file",
                                             .ca = "--tls-client-ca-file",
                                             .refresh = "--tls-refresh-interval"});
      !status.ok()) {
    return status;
  }
  config.health_listen_address = raw.health_listen;
  if (!raw.health_listen.empty()) {
    absl::StatusOr<HostPort> health = ParseHostPort(raw.health_listen, "--health-listen");
    if (!health.ok()) return health.status();
    config.health_listen = *health;
  }
  config.metrics_listen_address = raw.metrics_listen;
  if (!raw.metrics_listen.empty()) {
    absl::StatusOr<HostPort> metrics = ParseHostPort(raw.metrics_listen, "--metrics-listen");
    if (!metrics.ok()) return metrics.status();
    config.metrics_listen = *metrics;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> ParseConfig(const RawConfig& raw) {
  Config config;
  absl::StatusOr<HostPort> listen = ParseHostPort(raw.listen, "--listen");
  if (!listen.ok()) return listen.status();
  config.listen_address = raw.listen;
  config.listen = *listen;

  absl::StatusOr<HostPort> redis = ParseHostPort(raw.redis, "--redis");
  if (!redis.ok()) return redis.status();
  if (redis->port == 0) return Invalid("redis", "port must not be 0");
  config.redis = *redis;
  if (absl::Status status = ParseRedisAuth(raw, config); !status.ok()) return status;

  if (raw.key_prefix.find_first_of(" \t\r\n") != std::string::npos) {
    return Invalid("key-prefix", "must not contain whitespace");
  }
  config.key_prefix = raw.key_prefix;

  if (!absl::SimpleAtoi(raw.redis_pool_size, &config.redis_pool_size) ||
      config.redis_pool_size < 1 || config.redis_pool_size > 64) {
    return Invalid("redis-pool-size",
                   absl::StrCat("expected 1 to 64, got \"", raw.redis_pool_size, "\""));
  }

  absl::StatusOr<absl::Duration> timeout =
      ParsePositiveDuration(raw.redis_timeout, "redis-timeout", false);
  if (!timeout.ok()) return timeout.status();
  config.redis_timeout = *timeout;
  absl::StatusOr<absl::Duration> interval =
      ParsePositiveDuration(raw.health_check_interval, "health-check-interval", false);
  if (!interval.ok()) return interval.status();
  config.health_check_interval = *interval;
  absl::StatusOr<absl::Duration> drain =
      ParsePositiveDuration(raw.shutdown_drain, "shutdown-drain", true);
  if (!drain.ok()) return drain.status();
  config.shutdown_drain = *drain;
  if (!absl::ParseDuration(raw.max_connection_age, &config.max_connection_age) ||
      config.max_connection_age <= absl::ZeroDuration()) {
    return Invalid("max-connection-age",
                   absl::StrCat("expected a positive duration such as 5m (inf: never), got \"",
                                raw.max_connection_age, "\""));
  }

  if (!raw.max_in_flight_calls.empty() &&
      !absl::SimpleAtoi(raw.max_in_flight_calls, &config.max_in_flight_calls)) {
    config.max_in_flight_calls = 0;  // reported below
  }
  if (config.max_in_flight_calls < 1 || config.max_in_flight_calls > 1000000) {
    return Invalid("max-in-flight-calls",
                   absl::StrCat("expected 1 to 1000000, got \"", raw.max_in_flight_calls, "\""));
  }

  if (!absl::ParseDuration(raw.watch_interval, &config.watch_interval) ||
      config.watch_interval < absl::Milliseconds(10) || config.watch_interval > absl::Hours(1)) {
    return Invalid("watch-interval", absl::StrCat("expected a duration from 10ms to 1h, got \"",
                                                  raw.watch_interval, "\""));
  }
  if (!absl::ParseDuration(raw.changes_interval, &config.changes_interval) ||
      config.changes_interval < absl::Milliseconds(10) ||
      config.changes_interval > absl::Seconds(1)) {
    return Invalid("changes-interval", absl::StrCat("expected a duration from 10ms to 1s, got \"",
                                                    raw.changes_interval, "\""));
  }
  if (!absl::SimpleAtoi(raw.max_watchers, &config.max_watchers) || config.max_watchers < 1 ||
      config.max_watchers > 100000) {
    return Invalid("max-watchers",
                   absl::StrCat("expected 1 to 100000, got \"", raw.max_watchers, "\""));
  }
  if (!absl::SimpleAtod(raw.access_log_sample_rate, &config.access_log_sample_rate) ||
      !(config.access_log_sample_rate >= 0 && config.access_log_sample_rate <= 1)) {
    return Invalid("access-log-sample-rate",
                   absl::StrCat("expected 0 to 1, got \"", raw.access_log_sample_rate, "\""));
  }

  // Whole seconds (the marker's EX), from a minute (a client's own retries) to 30 days.
  if (!absl::ParseDuration(raw.dedup_window, &config.dedup_window) ||
      config.dedup_window < absl::Minutes(1) || config.dedup_window > absl::Hours(30 * 24) ||
      config.dedup_window != absl::Seconds(absl::ToInt64Seconds(config.dedup_window))) {
    return Invalid("dedup-window", absl::StrCat("expected whole seconds from 1m to 720h, got \"",
                                                raw.dedup_window, "\""));
  }

  absl::StatusOr<absl::Duration> startup_wait =
      ParsePositiveDuration(raw.startup_wait, "startup-wait", true);
  if (!startup_wait.ok()) return startup_wait.status();
  config.startup_wait = *startup_wait;

  config.reader_hash_key = raw.reader_hash_key;
  if (!raw.reader_hash_key_file.empty()) {
    std::ifstream file(raw.reader_hash_key_file, std::ios::binary);
    if (!file) {
      return Invalid("reader-hash-key-file",
                     absl::StrCat("cannot read \"", raw.reader_hash_key_file, "\""));
    }
    std::ostringstream contents;
    contents << file.rdbuf();
    config.reader_hash_key = std::string(absl::StripTrailingAsciiWhitespace(contents.str()));
    if (config.reader_hash_key.empty()) {
      return Invalid("reader-hash-key-file",
                     absl::StrCat("\"", raw.reader_hash_key_file, "\" is empty"));
    }
  }
  if (absl::Status status = ParseTlsAndHealth(raw, config); !status.ok()) return status;
  return config;
}

}  // namespace newsroom::analytics
