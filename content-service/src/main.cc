// content-service: serves news articles over gRPC with their read counts from analytics-service.

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/src/env_flags.h"
#include "common/src/flag_names.h"
#include "common/src/grpc_server.h"
#include "common/src/host_port.h"
#include "common/src/log.h"
#include "common/src/metrics.h"
#include "common/src/metrics_http_server.h"
#include "common/src/startup_retry.h"
#include "common/src/tls_credentials.h"
#include "content-service/src/article_change_listener.h"
#include "content-service/src/cached_article_store.h"
#include "content-service/src/config.h"
#include "content-service/src/content_metrics.h"
#include "content-service/src/content_service.h"
#include "content-service/src/editor_auth.h"
#include "content-service/src/grpc_analytics_client.h"
#include "content-service/src/grpc_content_service.h"
#include "content-service/src/pending_reads.h"
#include "content-service/src/postgres_article_store.h"
#include "content-service/src/seed_loader.h"
#include "content-service/src/sqlite_article_store.h"
#include "content-service/src/sqlite_read_outbox.h"
#include "content-service/src/watch_relay.h"
#include "newsroom/content/v1/content_service.grpc.pb.h"

extern char** environ;

namespace {

int Fail(const absl::Status& status) {
  newsroom::log::Error(status.message(), {{"fatal", true}});
  return 1;
}

// Says how both of content-service's gRPC connections are secured, loudly when not.
void LogTls(const newsroom::content::ContentConfig& config) {
  namespace log = newsroom::log;
  if (config.tls.enabled()) {
    log::Info("serving TLS; files re-read every refresh_interval",
              {{"cert_file", config.tls.cert_file},
               {"client_ca_file", config.tls.client_ca_file},
               {"client_certificates_required", !config.tls.client_ca_file.empty()},
               {"refresh_interval", absl::FormatDuration(config.tls.refresh_interval)}});
  } else {
    log::Warning(
        "no --tls_cert_file: serving PLAINTEXT gRPC; anyone on the network can read and change "
        "calls, editor tokens included. Local development only");
  }
  if (config.analytics_tls.enabled()) {
    log::Info("TLS to analytics-service", {{"ca_file", config.analytics_tls.ca_file},
                                           {"cert_file", config.analytics_tls.cert_file}});
  } else {
    log::Warning(
        "no --analytics_tls_ca_file: calling analytics-service over PLAINTEXT. Local development "
        "only");
  }
}

// Loads the sample articles into an empty store; a store with articles is left as it is.
absl::Status SeedIfEmpty(newsroom::content::ArticleStore& store,
                         newsroom::content::ContentService& service, const std::string& path) {
  if (path.empty()) return absl::OkStatus();
  auto count = store.Count();
  if (!count.ok()) return count.status();
  if (*count > 0) return absl::OkStatus();
  auto articles = newsroom::content::LoadSeedArticles(path);
  if (!articles.ok()) return articles.status();
  std::size_t loaded = 0;
  for (const auto& article : *articles) {
    const absl::Status status = service.ImportArticle(article);
    // Replicas starting together on one empty PostgreSQL all see it empty; whichever stores an
    // article first wins, and the others keep going rather than fail their start.
    if (absl::IsAlreadyExists(status)) continue;
    if (!status.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", status.message()));
    ++loaded;
  }
  newsroom::log::Info("loaded sample articles",
                      {{"loaded", loaded}, {"of", articles->size()}, {"file", path}});
  return absl::OkStatus();
}

// Reads a secret file, trimming one trailing newline (as `echo` leaves).
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, const char* flag) {
  std::ifstream file(path, std::ios::binary);
  std::string value((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (!file.good() && !file.eof()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  }
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  if (value.empty()) return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " is empty"));
  return value;
}

// The store named by --db, with the article cache in front unless --article_cache_bytes is 0,
// and with PostgreSQL the listener that keeps that cache current with other replicas' writes.
// Declared in this order so that the listener, whose callbacks use the cache, goes first.
struct OpenedStore {
  std::unique_ptr<newsroom::content::ArticleStore> store;
  std::unique_ptr<newsroom::content::ArticleChangeListener> changes;
};

// Keeps `cache` current with the changes PostgreSQL announces. The cache starts suspended and
// serves nothing until the listener is listening; it is suspended again whenever announcements
// may be missed.
std::unique_ptr<newsroom::content::ArticleChangeListener> FollowChanges(
    newsroom::content::PostgresOptions options, newsroom::content::CachedArticleStore* cache) {
  return std::make_unique<newsroom::content::ArticleChangeListener>(
      std::move(options),
      newsroom::content::ArticleChangeCallbacks{
          .on_listening =
              [cache] {
                cache->Resume();
                newsroom::log::Info("article cache following changes in PostgreSQL");
              },
          .on_changed = [cache](absl::string_view article_id) { cache->Invalidate(article_id); },
          .on_lost =
              [cache](const absl::Status& why) {
                cache->Suspend();
                newsroom::log::Warning(
                    "article cache suspended: changes in PostgreSQL may go unannounced; every "
                    "read goes to the database until the listener reconnects",
                    {{"error", why.message()}});
              }});
}

newsroom::content::CachedArticleStore::Bounds CacheBounds(
    const newsroom::content::ContentConfig& config) {
  return {.article_bytes = config.article_cache_bytes, .listing_bytes = config.listing_cache_bytes};
}

// The listing cache lives in the article cache: without it, no listing is cached either.
std::size_t EffectiveListingCacheBytes(const newsroom::content::ContentConfig& config) {
  return config.article_cache_bytes > 0 ? config.listing_cache_bytes : 0;
}

absl::StatusOr<OpenedStore> OpenStore(const newsroom::content::ContentConfig& config) {
  OpenedStore opened;
  if (newsroom::content::IsPostgresUrl(config.db_path)) {
    newsroom::content::PostgresOptions options{.url = config.db_path,
                                               .pool_size = config.db_pool_size};
    if (!config.db_password_file.empty()) {
      auto password = ReadSecretFile(config.db_password_file, "--db_password_file");
      if (!password.ok()) return password.status();
      options.password = *std::move(password);
    }
    // A database not up yet (a fresh install, or PostgreSQL restarting too) is tried again for
    // --startup_wait before the process gives up.
    absl::StatusOr<std::unique_ptr<newsroom::content::PostgresArticleStore>> postgres =
        absl::UnavailableError("not tried");
    const absl::Status opened_status =
        newsroom::RetryWhileUnavailable("PostgreSQL", {.wait = config.startup_wait}, [&] {
          postgres = newsroom::content::PostgresArticleStore::Open(options);
          return postgres.status();
        });
    if (opened_status.code() == absl::StatusCode::kCancelled) return opened_status;
    // The URL holds no password (checked), so naming it is safe and tells the operator which.
    if (!postgres.ok()) {
      return absl::Status(
          postgres.status().code(),
          absl::StrCat("cannot open --db=", config.db_path, ": ", postgres.status().message()));
    }
    newsroom::log::Info("articles in PostgreSQL",
                        {{"max_connections", config.db_pool_size},
                         {"article_cache_bytes", config.article_cache_bytes},
                         {"listing_cache_bytes", EffectiveListingCacheBytes(config)},
                         {"outbox_db", config.outbox_path}});
    opened.store = *std::move(postgres);
    if (config.article_cache_bytes > 0) {
      auto cache = std::make_unique<newsroom::content::CachedArticleStore>(
          std::move(opened.store), CacheBounds(config), /*suspended=*/true);
      opened.changes = FollowChanges(std::move(options), cache.get());
      opened.store = std::move(cache);
    }
    return opened;
  }
  auto sqlite = newsroom::content::SqliteArticleStore::Open(config.db_path);
  if (!sqlite.ok()) {
    return absl::Status(sqlite.status().code(), absl::StrCat("cannot open --db=", config.db_path,
                                                             ": ", sqlite.status().message()));
  }
  newsroom::log::Info("articles in SQLite",
                      {{"db", config.db_path},
                       {"article_cache_bytes", config.article_cache_bytes},
                       {"listing_cache_bytes", EffectiveListingCacheBytes(config)},
                       {"outbox_db", config.outbox_path}});
  opened.store = *std::move(sqlite);
  if (config.article_cache_bytes > 0) {
    opened.store = std::make_unique<newsroom::content::CachedArticleStore>(std::move(opened.store),
                                                                           CacheBounds(config));
  }
  return opened;
}

}  // namespace

int main(int argc, char** argv) {
  newsroom::log::SetService("content-service");
  newsroom::PrepareServerProcess(argv[0]);
  absl::SetProgramUsageMessage(
      "content-service --listen=HOST:PORT --analytics=HOST:PORT --db=PATH|postgresql://... "
      "[--seed=FILE] "
      "[--editor_token_file=FILE]; every flag can also be set by its env var, named in --help");
  // The environment first, so that a flag on the command line wins over its variable.
  if (auto status = newsroom::ApplyEnvironment(newsroom::content::ContentEnvSettings(),
                                               newsroom::ReadEnvironment(environ));
      !status.ok()) {
    return Fail(status);
  }
  // Flags are declared with underscores (`--editor_token_file`); dashes (`--editor-token-file`)
  // work too, as on analytics-service.
  std::vector<std::string> args = newsroom::NormalizeFlagNames(argc, argv);
  std::vector<char*> c_args;
  for (std::string& arg : args) c_args.push_back(arg.data());
  absl::ParseCommandLine(static_cast<int>(c_args.size()), c_args.data());

  auto config = newsroom::content::ContentConfigFromFlags();
  if (!config.ok()) return Fail(config.status());
  LogTls(*config);

  auto editor_auth = newsroom::content::EditorAuth::FromConfig(
      {.token_file = config->editor_token_file, .token = config->editor_token});
  if (!editor_auth.ok()) return Fail(editor_auth.status());
  if ((*editor_auth)->enabled()) {
    newsroom::log::Info("editor token configured", {{"source", (*editor_auth)->source()}});
  } else {
    newsroom::log::Warning(
        "no editor token configured (--editor_token_file or EDITOR_TOKEN): CreateArticle, "
        "UpdateArticle and DeleteArticle are refused");
  }

  auto opened = OpenStore(*config);
  if (opened.status().code() == absl::StatusCode::kCancelled) {
    newsroom::log::Info("stopped before starting", {{"reason", opened.status().message()}});
    return 0;
  }
  if (!opened.ok()) return Fail(opened.status());
  std::unique_ptr<newsroom::content::ArticleStore> store = std::move(opened->store);
  // Declared after `store`, whose cache its callbacks use: destroyed (joined) first.
  std::unique_ptr<newsroom::content::ArticleChangeListener> article_changes =
      std::move(opened->changes);
  // The cache, when OpenStore put one in front of the store, for its hit and miss counts.
  const auto* cache = dynamic_cast<const newsroom::content::CachedArticleStore*>(store.get());
  newsroom::content::GrpcAnalyticsClient analytics(
      config->analytics_address, newsroom::MakeChannelCredentials(config->analytics_tls));
  // Reads analytics has not acknowledged are kept in a local SQLite file (the article database
  // itself for SQLite), so that a restart while analytics is down loses none of them.
  auto outbox = newsroom::content::SqliteReadOutbox::Open(config->outbox_path);
  if (!outbox.ok()) {
    return Fail(absl::Status(outbox.status().code(),
                             absl::StrCat("cannot open --outbox_db=", config->outbox_path, ": ",
                                          outbox.status().message())));
  }
  newsroom::content::PendingReads pending_reads(
      &analytics, outbox->get(),
      {.max_pending = config->max_pending_reads, .max_age = config->max_pending_read_age});
  newsroom::content::ContentService service(
      store.get(), &analytics, &pending_reads,
      {.analytics_budget = config->analytics_budget,
       .stats_max_age = config->stats_max_age,
       .stats_feed = config->stats_feed,
       .max_response_bytes_in_flight = config->max_response_bytes_in_flight});
  if (auto status = SeedIfEmpty(*store, service, config->seed_path); !status.ok()) {
    return Fail(status);
  }

  // Metrics only with --metrics_listen: without it the server records nothing per call.
  std::unique_ptr<newsroom::metrics::MetricsRegistry> metrics;
  std::unique_ptr<newsroom::GrpcServerMetrics> grpc_metrics;
  if (!config->metrics_listen_address.empty()) {
    metrics = std::make_unique<newsroom::metrics::MetricsRegistry>();
    newsroom::AddBuildInfo(*metrics, "content-service");
    grpc_metrics = std::make_unique<newsroom::GrpcServerMetrics>(
        *metrics,
        std::vector<std::string>{newsroom::content::v1::ContentService::service_full_name()});
    newsroom::content::AddContentMetrics(*metrics, &pending_reads, cache);
  }

  newsroom::CallLimiter limiter(config->max_in_flight_calls);
  newsroom::content::WatchRelays watches(&analytics, config->max_watchers);
  newsroom::CallObserver call_observer(grpc_metrics.get(), config->access_log_sample_rate);
  newsroom::content::GrpcContentService grpc_service(&service, editor_auth->get(), &limiter,
                                                     &watches, &call_observer);
  auto server = newsroom::GrpcServer::Start(
      {.listen_address = config->listen_address,
       .services = {&grpc_service},
       .service_names = {newsroom::content::v1::ContentService::service_full_name()},
       .credentials = newsroom::MakeServerCredentials(config->tls),
       .health_listen_address = config->health_listen_address,
       .max_connection_age = config->max_connection_age,
       .max_connection_age_grace = config->shutdown_drain,
       .call_observer = &call_observer});
  if (!server.ok()) return Fail(server.status());
  std::unique_ptr<newsroom::metrics::MetricsHttpServer> metrics_server;
  if (metrics != nullptr) {
    auto started = newsroom::metrics::MetricsHttpServer::Start(config->metrics_listen_address,
                                                               "--metrics_listen", metrics.get());
    if (!started.ok()) return Fail(started.status());
    metrics_server = *std::move(started);
  }
  const auto listen = newsroom::ParseHostPort(config->listen_address, "--listen");
  std::printf("content-service listening on %s:%d\n", listen->host.c_str(), (*server)->port());
  // After the main port's line: tests and scripts take the first "listening on" as the main port.
  if ((*server)->health_port() != 0) {
    const auto health = newsroom::ParseHostPort(config->health_listen_address, "--health_listen");
    std::printf("content-service health listening on %s:%d\n", health->host.c_str(),
                (*server)->health_port());
  }
  if (metrics_server != nullptr) {
    const auto address =
        newsroom::ParseHostPort(config->metrics_listen_address, "--metrics_listen");
    std::printf("content-service metrics listening on %s:%d\n", address->host.c_str(),
                metrics_server->port());
  }
  std::fflush(stdout);

  const int signal_number = newsroom::WaitForShutdownSignal();
  newsroom::log::Info(
      "signal received; draining",
      {{"signal", signal_number}, {"drain", absl::FormatDuration(config->shutdown_drain)}});
  const absl::Time deadline = absl::Now() + config->shutdown_drain;
  // Watch streams never end by themselves: end them now (UNAVAILABLE, so clients reconnect to
  // another replica) rather than let them hold the drain to its deadline.
  watches.Close(absl::UnavailableError("content-service is shutting down; reconnect"));
  (*server)->Shutdown(config->shutdown_drain);
  // Calls to analytics made for the last requests may answer (or time out) after the server is
  // done; their reads must still reach the outbox, and nothing may be destroyed under them.
  if (!service.WaitForAnalyticsCallbacks(absl::Seconds(5))) {
    newsroom::log::Warning("analytics callbacks still due after 5s");
  }
  // The server's drain can use the whole deadline (gRPC waits for idle clients to hang up), so
  // delivering the queued reads gets a minimum of its own.
  const std::size_t undelivered =
      pending_reads.Shutdown(std::max(deadline, absl::Now() + absl::Seconds(2)));
  const auto counters = pending_reads.counters();
  newsroom::log::Info("stopped",
                      {{"queued_reads_delivered", counters.delivered},
                       {"left_in_outbox", undelivered},
                       {"dropped", counters.dropped_full + counters.dropped_expired +
                                       counters.dropped_rejected + counters.dropped_unsaved},
                       {"dropped_full", counters.dropped_full},
                       {"dropped_expired", counters.dropped_expired},
                       {"dropped_refused", counters.dropped_rejected},
                       {"dropped_unsaved", counters.dropped_unsaved}});
  // A clean stop exits 0 even with reads undelivered: they are reported above, and a non-zero
  // exit would only make the orchestrator treat a deliberate stop as a crash.
  return 0;
}
