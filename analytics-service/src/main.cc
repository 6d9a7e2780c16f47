// analytics-service: counts article reads in Redis and serves them over gRPC.
// See analytics-service/README.md for flags, environment and the Redis key schema.

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "analytics-service/src/analytics_metrics.h"
#include "analytics-service/src/analytics_service.h"
#include "analytics-service/src/change_feed_hub.h"
#include "analytics-service/src/change_feed_poller.h"
#include "analytics-service/src/config.h"
#include "analytics-service/src/flags.h"
#include "analytics-service/src/grpc_analytics_service.h"
#include "analytics-service/src/read_stats_poller.h"
#include "analytics-service/src/reader_hasher.h"
#include "analytics-service/src/redis_connection.h"
#include "analytics-service/src/redis_health_monitor.h"
#include "analytics-service/src/redis_keys.h"
#include "analytics-service/src/redis_read_counter.h"
#include "analytics-service/src/watch_hub.h"
#include "common/src/allocator.h"
#include "common/src/env_flags.h"
#include "common/src/flag_names.h"
#include "common/src/grpc_server.h"
#include "common/src/log.h"
#include "common/src/metrics.h"
#include "common/src/metrics_http_server.h"
#include "common/src/startup_retry.h"
#include "common/src/tls_credentials.h"

extern char** environ;

namespace newsroom::analytics {
namespace {

int Fail(const absl::Status& status) {
  newsroom::log::Error(status.message(), {{"fatal", true}});
  return 1;
}

// Says how the port is secured, loudly when it is not.
void LogTls(const ServerTlsOptions& tls) {
  if (!tls.enabled()) {
    newsroom::log::Warning(
        "no --tls-cert-file: serving PLAINTEXT gRPC; anyone who can reach the port can record "
        "reads. Local development only");
    return;
  }
  newsroom::log::Info(tls.client_ca_file.empty()
                          ? "serving TLS; no client certificate asked for: any caller may record "
                            "reads"
                          : "serving TLS; client certificates required",
                      {{"cert_file", tls.cert_file},
                       {"client_ca_file", tls.client_ca_file},
                       {"refresh_interval", absl::FormatDuration(tls.refresh_interval)}});
}

// HOST:PORT, with brackets around an IPv6 host.
std::string Address(const std::string& host, int port) {
  return absl::StrCat(host.find(':') == std::string::npos ? host : absl::StrCat("[", host, "]"),
                      ":", port);
}

int Run(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Counts article reads in Redis; serves newsroom.analytics.v1. Every flag can also be set "
      "by its env var, named in --help.");
  // The environment first, so that a flag on the command line wins over its variable.
  if (absl::Status status = ApplyEnvironment(AnalyticsEnvSettings(), ReadEnvironment(environ));
      !status.ok()) {
    return Fail(status);
  }
  std::vector<std::string> args = NormalizeFlagNames(argc, argv);
  std::vector<char*> c_args;
  for (std::string& arg : args) c_args.push_back(arg.data());
  const std::vector<char*> positional =
      absl::ParseCommandLine(static_cast<int>(c_args.size()), c_args.data());
  if (positional.size() > 1) {
    return Fail(absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", positional[1], "\"; flags look like --name=value")));
  }

  absl::StatusOr<Config> config = ParseConfig(RawConfigFromFlags());
  if (!config.ok()) return Fail(config.status());
  LogTls(config->tls);
  newsroom::LogAllocator(newsroom::ConfigureAllocator());

  const RedisConnectionOptions connection_options{
      .host = config->redis.host,
      .port = config->redis.port,
      .user = config->redis_user,
      .password = config->redis_password,
      .connect_timeout = config->redis_timeout,
      .command_timeout = config->redis_timeout,
  };
  const RedisKeys keys(config->key_prefix);

  // Redis must answer at start: a service that cannot count is a deployment error to surface. One
  // not up yet (a fresh install, or Redis restarting too) is tried again for --startup-wait.
  RedisConnection startup(connection_options);
  if (absl::Status status =
          newsroom::RetryWhileUnavailable("Redis", {.wait = config->startup_wait},
                                          [&] { return RedisReadCounter::LoadScripts(startup); });
      !status.ok()) {
    if (status.code() == absl::StatusCode::kCancelled) {
      newsroom::log::Info("stopped before starting", {{"reason", status.message()}});
      return 0;
    }
    return Fail(absl::Status(status.code(), absl::StrCat("cannot start: ", status.message())));
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
    newsroom::log::Info(
        "no READER_HASH_KEY or --reader-hash-key-file; hashing reader ids with the key kept in "
        "Redis",
        {{"key_generated_now", generated}, {"redis_key", keys.ReaderHashKey()}});
    // Put it back should Redis come back empty, so replicas started later still agree.
    on_recovery.push_back({"SET", keys.ReaderHashKey(), hash_key, "NX"});
  }
  startup.Disconnect();

  // Metrics only with --metrics-listen: without it nothing is recorded per call or per read.
  std::unique_ptr<metrics::MetricsRegistry> registry;
  std::unique_ptr<GrpcServerMetrics> grpc_metrics;
  metrics::Gauge* redis_up = nullptr;
  std::function<void(RedisMemory)> report_redis_memory;
  if (!config->metrics_listen_address.empty()) {
    registry = std::make_unique<metrics::MetricsRegistry>();
    AddBuildInfo(*registry, "analytics-service");
    grpc_metrics = std::make_unique<GrpcServerMetrics>(
        *registry, std::vector<std::string>{v1::AnalyticsService::service_full_name()});
    redis_up = &AddRedisUp(*registry);
    report_redis_memory = AddRedisMemory(*registry);
  }
  const RedisReadCounterOptions counter_options{
      .connection = connection_options,
      .key_prefix = config->key_prefix,
      .pool_size = config->redis_pool_size,
      .dedup_window = config->dedup_window,
      .metrics = registry != nullptr ? AddRedisMetrics(*registry) : RedisMetrics{},
  };
  std::unique_ptr<ReadCounter> counter = std::make_unique<RedisReadCounter>(counter_options);
  if (registry != nullptr) {
    counter = std::make_unique<CountingReadCounter>(std::move(counter), *registry);
    AddTopArticles(*registry, counter.get());
  }
  ReadCounter* const shared_counter = counter.get();  // owned by `service`, which outlives `poller`
  AnalyticsService service(std::move(counter), ReaderHasher(std::move(hash_key)));
  CallLimiter limiter(config->max_in_flight_calls);
  WatchHub watch_hub(config->max_watchers);
  // Declared after `service` and `watch_hub`: destroyed (joined) before them.
  auto poller =
      std::make_unique<ReadStatsPoller>(&watch_hub, shared_counter, config->watch_interval);
  ChangeFeedHub change_feed_hub(config->max_watchers);
  // An article whose readers count may be kept is counted again once it is quiet for that long.
  auto change_feed_poller = std::make_unique<ChangeFeedPoller>(
      &change_feed_hub, shared_counter, config->changes_interval,
      ChangeFeedPoller::Settle{.after = counter_options.readers_count_max_age,
                               .from_reads = counter_options.readers_count_kept_from});
  CallObserver call_observer(grpc_metrics.get(), config->access_log_sample_rate);
  GrpcAnalyticsService grpc_service(&service, &limiter, &watch_hub, &change_feed_hub,
                                    &call_observer);

  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(GrpcServerOptions{
      .listen_address = config->listen_address,
      .services = {&grpc_service},
      .service_names = {v1::AnalyticsService::service_full_name()},
      // 1000 reads of up to ~600 bytes each, with room to spare.
      .max_receive_message_bytes = 4 << 20,
      .credentials = MakeServerCredentials(config->tls),
      .health_listen_address = config->health_listen_address,
      .max_connection_age = config->max_connection_age,
      .max_connection_age_grace = config->shutdown_drain,
      .call_observer = &call_observer,
  });
  if (!server.ok()) return Fail(server.status());
  std::unique_ptr<metrics::MetricsHttpServer> metrics_server;
  if (registry != nullptr) {
    auto started = metrics::MetricsHttpServer::Start(config->metrics_listen_address,
                                                     "--metrics-listen", registry.get());
    if (!started.ok()) return Fail(started.status());
    metrics_server = *std::move(started);
  }
  (*server)->SetServing(true);

  auto monitor = std::make_unique<RedisHealthMonitor>(
      RedisHealthMonitorOptions{.connection = connection_options,
                                .interval = config->health_check_interval,
                                .on_recovery = std::move(on_recovery),
                                .on_memory = std::move(report_redis_memory)},
      [server = server->get(), redis_up](bool healthy) {
        server->SetServing(healthy);
        if (redis_up != nullptr) redis_up->Set(healthy ? 1 : 0);
      });

  const std::string& host = config->listen.host;
  std::printf("analytics-service listening on %s:%d\n",
              (host.find(':') == std::string::npos ? host : absl::StrCat("[", host, "]")).c_str(),
              (*server)->port());
  // After the main port's line: tests and scripts take the first "listening on" as the main port.
  if ((*server)->health_port() != 0) {
    std::printf("analytics-service health listening on %s\n",
                Address(config->health_listen.host, (*server)->health_port()).c_str());
  }
  if (metrics_server != nullptr) {
    std::printf("analytics-service metrics listening on %s\n",
                Address(config->metrics_listen.host, metrics_server->port()).c_str());
  }
  std::fflush(stdout);

  const int signal_number = WaitForShutdownSignal();
  newsroom::log::Info("signal received; draining",
                      {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
                       {"drain", absl::FormatDuration(config->shutdown_drain)}});
  monitor.reset();         // so that nothing turns health back to SERVING
  metrics_server.reset();  // its scrapes ask `service`'s counter for the top articles
  // Watch streams never end by themselves: end them now (UNAVAILABLE, so clients reconnect to
  // another replica) rather than let them hold the drain to its deadline.
  watch_hub.Close(absl::UnavailableError("analytics-service is shutting down; reconnect"));
  change_feed_hub.Close(absl::UnavailableError("analytics-service is shutting down; reconnect"));
  (*server)->Shutdown(config->shutdown_drain);
  poller.reset();
  change_feed_poller.reset();
  return 0;  // `service` (and its Redis workers) outlives every call the server finished
}

}  // namespace
}  // namespace newsroom::analytics

int main(int argc, char** argv) {
  newsroom::log::SetService("analytics-service");
  newsroom::PrepareServerProcess(argv[0]);
  return newsroom::analytics::Run(argc, argv);
}
