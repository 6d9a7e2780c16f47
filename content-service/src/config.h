#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/src/env_flags.h"
#include "common/src/tls_options.h"

namespace newsroom::content {

// content-service's settings, from flags, each of which an environment variable can set (see
// ContentEnvSettings).
struct ContentConfig {
  std::string listen_address;  // --listen, CONTENT_LISTEN
  // --analytics, ANALYTICS_ADDR: HOST:PORT or a gRPC target (dns:///HOST:PORT, ipv4:A:P,B:P).
  std::string analytics_address;
  std::string db_path;  // --db, CONTENT_DB: a SQLite file or a postgresql:// URL
  // --db_password_file, CONTENT_DB_PASSWORD_FILE: the PostgreSQL password (else libpq's own
  // PGPASSWORD or PGPASSFILE); never a flag holding the value, which `ps` would show.
  std::string db_password_file;
  int db_pool_size;  // --db_pool_size, CONTENT_DB_POOL_SIZE: PostgreSQL connections at most
  // --outbox_db, CONTENT_OUTBOX_DB: the SQLite file of the read outbox. Defaults to --db itself
  // for SQLite and to `newsroom-outbox.db` (working directory) for PostgreSQL.
  std::string outbox_path;
  std::string seed_path;  // --seed, CONTENT_SEED (empty: load no samples)
  // --tls_cert_file, --tls_key_file, --tls_client_ca_file, --tls_refresh_interval (CONTENT_TLS_*);
  // no certificate: plaintext.
  newsroom::ServerTlsOptions tls;
  // --health_listen, CONTENT_HEALTH_LISTEN: the plaintext health-only port; empty: none.
  std::string health_listen_address;
  // --metrics_listen, CONTENT_METRICS_LISTEN: the plaintext HTTP port of GET /metrics (Prometheus
  // text format); empty: no metrics.
  std::string metrics_listen_address;
  // --analytics_tls_ca_file, --analytics_tls_cert_file, --analytics_tls_key_file
  // (CONTENT_ANALYTICS_TLS_*): TLS, and mutual TLS, to analytics-service; no CA: plaintext.
  newsroom::ClientTlsOptions analytics_tls;
  absl::Duration analytics_budget;
  absl::Duration stats_max_age;
  // --stats_feed (CONTENT_STATS_FEED): keep cached stats current from the change stream.
  bool stats_feed;
  std::size_t article_cache_bytes;
  // --listing_cache_bytes (CONTENT_LISTING_CACHE_BYTES): pages of ListArticles cached in the
  // article cache (none without it).
  std::size_t listing_cache_bytes;
  std::size_t max_pending_reads;
  absl::Duration max_pending_read_age;
  absl::Duration shutdown_drain;
  // --startup_wait: how long a PostgreSQL store that does not answer at start is tried again.
  absl::Duration startup_wait = absl::Seconds(30);
  // --max_connection_age: after it a client connection is closed (in-flight calls get
  // shutdown_drain), so clients re-resolve and reach replicas added since; infinite: never.
  absl::Duration max_connection_age;
  // Reads (calls that wait on analytics) served at once; more get RESOURCE_EXHAUSTED at once.
  int max_in_flight_calls;
  // --max_response_bytes_in_flight: bytes the responses of those calls may hold until sent.
  std::int64_t max_response_bytes_in_flight;
  // --max_watchers: WatchArticleReadStats streams open at once; more get RESOURCE_EXHAUSTED.
  int max_watchers = 1000;
  // --access_log_sample_rate: share of new traces sampled (access lines; see CallObserver).
  double access_log_sample_rate = 0.01;
  // The editor token for the write RPCs: a file (--editor_token_file, EDITOR_TOKEN_FILE) or the
  // value of EDITOR_TOKEN; never a flag holding the value, which `ps` would show. Both empty:
  // writes are refused. Checked by EditorAuth::FromConfig.
  std::string editor_token_file;
  std::string editor_token;
};

// content-service's environment: a variable for every flag (prefix CONTENT_), plus the secrets
// that are never flags. main() applies it with newsroom::ApplyEnvironment before parsing argv.
[[nodiscard]] const newsroom::EnvSettings& ContentEnvSettings();

// Reads the flags parsed by absl::ParseCommandLine; INVALID_ARGUMENT names the bad flag.
[[nodiscard]] absl::StatusOr<ContentConfig> ContentConfigFromFlags();

}  // namespace newsroom::content
