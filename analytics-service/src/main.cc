// analytics-service: counts article reads in Redis and serves them over gRPC.
// See analytics-service/README.md for flags, environment and the Redis key schema.

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "analytics-service/src/analytics_service.h"
#include "analytics-service/src/config.h"
#include "analytics-service/src/grpc_analytics_service.h"
#include "analytics-service/src/reader_hasher.h"
#include "analytics-service/src/redis_connection.h"
#include "analytics-service/src/redis_health_monitor.h"
#include "analytics-service/src/redis_keys.h"
#include "analytics-service/src/redis_read_counter.h"
#include "common/src/env.h"
#include "common/src/flag_names.h"
#include "common/src/grpc_server.h"
#include "common/src/tls_credentials.h"

// Every default comes from an env var, so a flag given on the command line wins over its env var.
ABSL_FLAG(std::string, listen, newsroom::EnvOr("ANALYTICS_LISTEN", "127.0.0.1:50052"),
          "HOST:PORT to serve gRPC on; port 0 picks a free port (env ANALYTICS_LISTEN)");
ABSL_FLAG(std::string, redis, newsroom::EnvOr("REDIS_ADDR", "127.0.0.1:6379"),
          "Redis HOST:PORT (env REDIS_ADDR)");
ABSL_FLAG(std::string, redis_user, newsroom::EnvOr("REDIS_USERNAME", ""),
          "Redis ACL user to AUTH as (env REDIS_USERNAME; empty: the default user); see "
          "scripts/redis-acl for the rule it needs");
// The password itself is never a flag: `ps` shows every process's command line.
ABSL_FLAG(std::string, redis_password_file, newsroom::EnvOr("REDIS_PASSWORD_FILE", ""),
          "file holding the Redis password (env REDIS_PASSWORD_FILE; or the password itself in "
          "env REDIS_PASSWORD)");
ABSL_FLAG(std::string, key_prefix, newsroom::EnvOr("ANALYTICS_KEY_PREFIX", "newsroom:"),
          "prefix of every Redis key (env ANALYTICS_KEY_PREFIX)");
ABSL_FLAG(std::string, redis_pool_size, newsroom::EnvOr("ANALYTICS_REDIS_POOL_SIZE", "4"),
          "Redis connections, each with one worker thread (env ANALYTICS_REDIS_POOL_SIZE)");
ABSL_FLAG(std::string, redis_timeout, newsroom::EnvOr("ANALYTICS_REDIS_TIMEOUT", "1s"),
          "connect and command timeout for Redis (env ANALYTICS_REDIS_TIMEOUT)");
ABSL_FLAG(std::string, health_check_interval,
          newsroom::EnvOr("ANALYTICS_HEALTH_CHECK_INTERVAL", "500ms"),
          "how often Redis is pinged for the health status (env ANALYTICS_HEALTH_CHECK_INTERVAL)");
ABSL_FLAG(std::string, shutdown_drain, newsroom::EnvOr("ANALYTICS_SHUTDOWN_DRAIN", "10s"),
          "on SIGTERM/SIGINT, how long in-flight calls may finish (env ANALYTICS_SHUTDOWN_DRAIN)");
ABSL_FLAG(std::string, max_in_flight_calls,
          newsroom::EnvOr("ANALYTICS_MAX_IN_FLIGHT_CALLS", "10000"),
          "calls served at once; more are refused at once with RESOURCE_EXHAUSTED (env "
          "ANALYTICS_MAX_IN_FLIGHT_CALLS)");
ABSL_FLAG(std::string, reader_hash_key_file, newsroom::EnvOr("READER_HASH_KEY_FILE", ""),
          "file holding the reader-id HMAC key (env READER_HASH_KEY_FILE; or the key itself in "
          "env READER_HASH_KEY); without either, a random key is created once and kept in Redis");
ABSL_FLAG(std::string, tls_cert_file, newsroom::EnvOr("ANALYTICS_TLS_CERT_FILE", ""),
          "PEM certificate chain to serve TLS with; without it (and --tls-key-file) the port is "
          "PLAINTEXT (env ANALYTICS_TLS_CERT_FILE)");
ABSL_FLAG(std::string, tls_key_file, newsroom::EnvOr("ANALYTICS_TLS_KEY_FILE", ""),
          "PEM private key of --tls-cert-file (env ANALYTICS_TLS_KEY_FILE)");
ABSL_FLAG(std::string, tls_client_ca_file, newsroom::EnvOr("ANALYTICS_TLS_CLIENT_CA_FILE", ""),
          "PEM CA bundle: when set, every call needs a client certificate it signed (mutual TLS; "
          "env ANALYTICS_TLS_CLIENT_CA_FILE)");
ABSL_FLAG(std::string, tls_refresh_interval,
          newsroom::EnvOr("ANALYTICS_TLS_REFRESH_INTERVAL", "10s"),
          "how often the TLS files are re-read, so rotated certificates apply without a restart; "
          "whole seconds (env ANALYTICS_TLS_REFRESH_INTERVAL)");
ABSL_FLAG(std::string, health_listen, newsroom::EnvOr("ANALYTICS_HEALTH_LISTEN", ""),
          "HOST:PORT of a plaintext port serving only grpc.health.v1, for probes that cannot do "
          "TLS; empty: none (env ANALYTICS_HEALTH_LISTEN)");

namespace newsroom::analytics {
namespace {

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "analytics-service: %s\n", std::string(status.message()).c_str());
  return 1;
}

// Says on stderr how the port is secured, loudly when it is not.
void LogTls(const ServerTlsOptions& tls) {
  if (!tls.enabled()) {
    std::fprintf(stderr,
                 "analytics-service: WARNING: no --tls-cert-file: serving PLAINTEXT gRPC; anyone "
                 "who can reach the port can record reads. Local development only\n");
    return;
  }
  std::fprintf(
      stderr, "analytics-service: serving TLS with %s (%s); files re-read every %s\n",
      tls.cert_file.c_str(),
      tls.client_ca_file.empty()
          ? "no client certificate asked for: any caller may record reads"
          : absl::StrCat("client certificates required, signed by ", tls.client_ca_file).c_str(),
      absl::FormatDuration(tls.refresh_interval).c_str());
}

// HOST:PORT, with brackets around an IPv6 host.
std::string Address(const std::string& host, int port) {
  return absl::StrCat(host.find(':') == std::string::npos ? host : absl::StrCat("[", host, "]"),
                      ":", port);
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage("Counts article reads in Redis; serves newsroom.analytics.v1.");
  std::vector<std::string> args = NormalizeFlagNames(argc, argv);
  std::vector<char*> c_args;
  for (std::string& arg : args) c_args.push_back(arg.data());
  const std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(c_args.size()), c_args.data());
  if (positional.size() > 1) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", positional[1], "\"; flags look like --name=value")));
  }

  absl::StatusOr<Config> config = ParseConfig(RawConfig{
      .listen = absl::GetFlag(FLAGS_listen),
      .redis = absl::GetFlag(FLAGS_redis),
      .key_prefix = absl::GetFlag(FLAGS_key_prefix),
      .redis_pool_size = absl::GetFlag(FLAGS_redis_pool_size),
      .redis_timeout = absl::GetFlag(FLAGS_redis_timeout),
      .health_check_interval = absl::GetFlag(FLAGS_health_check_interval),
      .shutdown_drain = absl::GetFlag(FLAGS_shutdown_drain),
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
  });
  if (!config.ok()) return Fail(config.status());
  LogTls(config->tls);

  const RedisConnectionOptions connection_options{
      .host = config->redis.host,
      .port = config->redis.port,
      .user = config->redis_user,
      .password = config->redis_password,
      .connect_timeout = config->redis_timeout,
      .command_timeout = config->redis_timeout,
  };
  const RedisKeys keys(config->key_prefix);

  // Redis must answer at start: a service that cannot count is a deployment error to surface now.
  RedisConnection startup(connection_options);
  if (absl::Status status = RedisReadCounter::LoadScripts(startup); !status.ok()) {
    return Fail(absl::UnavailableError(absl::StrCat("cannot start: ", status.message())));
  }
  std::vector<RedisCommand> on_recovery;
  std::string hash_key = config->reader_hash_key;
  if (hash_key.empty()) {
    bool generated = false;
    absl::StatusOr<std::string> stored = LoadOrCreateReaderHashKey(startup, keys, &generated);
    if (!stored.ok()) {
      return Fail(absl::UnavailableError(
          absl::StrCat("cannot read the reader hash key from Redis: ", stored.status().message())));
    }
    hash_key = *stored;
    std::fprintf(stderr,
                 "analytics-service: no READER_HASH_KEY or --reader-hash-key-file; hashing reader "
                 "ids with the %s key kept in Redis at %s\n",
                 generated ? "newly generated" : "shared", keys.ReaderHashKey().c_str());
    // Put it back should Redis come back empty, so replicas started later still agree.
    on_recovery.push_back({"SET", keys.ReaderHashKey(), hash_key, "NX"});
  }
  startup.Disconnect();

  AnalyticsService service(std::make_unique<RedisReadCounter>(RedisReadCounterOptions{
                               .connection = connection_options,
                               .key_prefix = config->key_prefix,
                               .pool_size = config->redis_pool_size,
                           }),
                           ReaderHasher(std::move(hash_key)));
  CallLimiter limiter(config->max_in_flight_calls);
  GrpcAnalyticsService grpc_service(&service, &limiter);

  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(GrpcServerOptions{
      .listen_address = config->listen_address,
      .services = {&grpc_service},
      // 1000 reads of up to ~600 bytes each, with room to spare.
      .max_receive_message_bytes = 4 << 20,
      .credentials = MakeServerCredentials(config->tls),
      .health_listen_address = config->health_listen_address,
  });
  if (!server.ok()) return Fail(server.status());
  (*server)->SetServing(true);

  auto monitor = std::make_unique<RedisHealthMonitor>(
      RedisHealthMonitorOptions{.connection = connection_options,
                                .interval = config->health_check_interval,
                                .on_recovery = std::move(on_recovery)},
      [server = server->get()](bool healthy) { server->SetServing(healthy); });

  const std::string& host = config->listen.host;
  std::printf("analytics-service listening on %s:%d\n",
              (host.find(':') == std::string::npos ? host : absl::StrCat("[", host, "]")).c_str(),
              (*server)->port());
  // After the main port's line: tests and scripts take the first "listening on" as the main port.
  if ((*server)->health_port() != 0) {
    std::printf("analytics-service health listening on %s\n",
                Address(config->health_listen.host, (*server)->health_port()).c_str());
  }
  std::fflush(stdout);

  const int signal_number = WaitForShutdownSignal();
  std::fprintf(stderr, "analytics-service: %s received; draining for up to %s\n",
               signal_number == SIGTERM ? "SIGTERM" : "SIGINT",
               absl::FormatDuration(config->shutdown_drain).c_str());
  monitor.reset();  // so that nothing turns health back to SERVING
  (*server)->Shutdown(config->shutdown_drain);
  return 0;  // `service` (and its Redis workers) outlives every call the server finished
}

}  // namespace
}  // namespace newsroom::analytics

int main(int argc, char** argv) {
  newsroom::PrepareServerProcess();
  return newsroom::analytics::Run(argc, argv);
}
