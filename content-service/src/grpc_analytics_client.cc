#include "content-service/src/grpc_analytics_client.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "common/src/grpc_status.h"
#include "common/src/log.h"

namespace newsroom::content {
namespace {

// One in-flight unary call: owns what the async stub needs alive until its callback, then deletes
// itself once `done` has run.
template <typename Request, typename Response, typename Result>
struct UnaryCall {
  // First, so destroyed last: released once the context has let go of the channel.
  CallbacksInFlight::Hold alive;
  grpc::ClientContext context;
  Request request;
  Response response;
  AnalyticsClient::Callback<Result> done;
};

// The completion of a call whose result is its response: passes it, or the error, on and frees
// the call.
template <typename Call>
auto PassResponse(Call* call) {
  return [call](grpc::Status status) {
    if (status.ok()) {
      std::move(call->done)(std::move(call->response));
    } else {
      std::move(call->done)(FromGrpcStatus(status));
    }
    delete call;
  };
}

// The completion of a call that answers with one ReadStats per entry of its request: passes them
// on as a vector, or the error, and frees the call.
template <typename Call>
auto PassStats(Call* call, int expected) {
  return [call, expected](grpc::Status status) {
    if (!status.ok()) {
      std::move(call->done)(FromGrpcStatus(status));
    } else if (call->response.stats_size() != expected) {
      std::move(call->done)(absl::InternalError("analytics returned a partial batch"));
    } else {
      auto* stats = call->response.mutable_stats();
      std::move(call->done)(std::vector<analytics_v1::ReadStats>(
          std::make_move_iterator(stats->begin()), std::make_move_iterator(stats->end())));
    }
    delete call;
  };
}

// The traceparent of a call: `trace`'s span is the parent of analytics-service's.
void SetTrace(grpc::ClientContext& context, const TraceContext& trace) {
  const auto header = FormatTraceparent(trace);
  context.AddMetadata(kTraceparentKey, std::string(header.data(), header.size()));
}

void SetDeadline(grpc::ClientContext& context, absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return;
  // gRPC reads a time before 1970 as "no deadline"; a deadline already past must fail at once.
  context.set_deadline(
      absl::ToChronoTime(std::max(deadline, absl::UnixEpoch() + absl::Seconds(1))));
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address,
                                          std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  // gRPC's default reconnect backoff grows to 120 s: after a long outage content-service would
  // keep queueing reads for up to two minutes after analytics-service is back. Retry every second.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // A Kubernetes ClusterIP Service balances connections, not calls, and gRPC's default
  // (pick_first) keeps one connection: every call would go to one analytics pod. round_robin keeps
  // a connection to every address the target resolves to (dns:/// to a headless Service: every
  // pod) and spreads calls over them; analytics' --max-connection-age makes it re-resolve, so pods
  // added later get calls too. With one address it behaves as pick_first does. Ours is the only
  // service config: no TXT lookup on each resolution.
  args.SetServiceConfigJSON(R"({"loadBalancingConfig":[{"round_robin":{}}]})");
  args.SetInt(GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION, 1);
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  auto channel = grpc::CreateCustomChannel(address, credentials, args);
  // Connect now rather than on the first page view, which has only its budget to spare.
  channel->GetState(/*try_to_connect=*/true);
  return channel;
}

// One server stream of ReadStats (WatchReadStats, WatchReadStatsChanges), on the callback API:
// reads every message as soon as it arrives and hands it on, so analytics-service never waits on
// this side (whoever consumes on_update keeps only the latest stats per article, so reading
// eagerly costs bounded memory). Owned by itself until OnDone, and by whoever holds the handle.
template <typename Request, typename Response>
class WatchCall final : public grpc::ClientReadReactor<Response>,
                        public AnalyticsClient::ReadStatsWatch,
                        public std::enable_shared_from_this<WatchCall<Request, Response>> {
 public:
  using AsyncStart = void (analytics_v1::AnalyticsService::Stub::async_interface::*)(
      grpc::ClientContext*, const Request*, grpc::ClientReadReactor<Response>*);

  WatchCall(CallbacksInFlight::Hold alive, Request request,
            AnalyticsClient::WatchCallbacks callbacks)
      : alive_(std::move(alive)), callbacks_(std::move(callbacks)), request_(std::move(request)) {}

  void Start(analytics_v1::AnalyticsService::Stub* stub, AsyncStart start,
             const TraceContext& trace) {
    self_ = this->shared_from_this();
    SetTrace(context_, trace);
    (stub->async()->*start)(&context_, &request_, this);
    this->StartRead(&response_);
    this->StartCall();
  }

  void Cancel() override { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone follows with its status
    auto* stats = response_.mutable_stats();
    callbacks_.on_update(std::vector<analytics_v1::ReadStats>(
        std::make_move_iterator(stats->begin()), std::make_move_iterator(stats->end())));
    response_.Clear();
    this->StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    std::move(callbacks_.on_done)(FromGrpcStatus(status));
    callbacks_ = {};  // drops what the callbacks hold before this object goes
    self_.reset();    // may destroy this object
  }

 private:
  // First, so destroyed last: released once context_ has let go of the channel.
  CallbacksInFlight::Hold alive_;
  AnalyticsClient::WatchCallbacks callbacks_;
  grpc::ClientContext context_;
  const Request request_;
  Response response_;
  std::shared_ptr<WatchCall> self_;
};

}  // namespace

GrpcAnalyticsClient::GrpcAnalyticsClient(const std::string& address,
                                         std::shared_ptr<grpc::ChannelCredentials> credentials)
    : GrpcAnalyticsClient(NewChannel(address, std::move(credentials))) {}

GrpcAnalyticsClient::GrpcAnalyticsClient(std::shared_ptr<grpc::Channel> channel)
    : stub_(analytics_v1::AnalyticsService::NewStub(std::move(channel))) {}

GrpcAnalyticsClient::~GrpcAnalyticsClient() {
  if (calls_alive_->WaitUntilNone(kCallsDrainTimeout)) return;
  log::Warning(
      "calls to analytics-service still alive; their channel is left to them",
      {{"calls", calls_alive_->count()}, {"waited", absl::FormatDuration(kCallsDrainTimeout)}});
  // Leaked on purpose: the calls still refer to both. The process is usually exiting.
  (void)stub_.release();
  (void)calls_alive_.release();
}

void GrpcAnalyticsClient::RecordRead(const analytics_v1::RecordReadRequest& request,
                                     absl::Time deadline, const TraceContext& trace,
                                     Callback<analytics_v1::ReadStats> done) {
  using Call =
      UnaryCall<analytics_v1::RecordReadRequest, analytics_v1::ReadStats, analytics_v1::ReadStats>;
  auto* call =
      new Call{.alive = calls_alive_->Acquire(), .request = request, .done = std::move(done)};
  SetDeadline(call->context, deadline);
  SetTrace(call->context, trace);
  stub_->async()->RecordRead(&call->context, &call->request, &call->response, PassResponse(call));
}

void GrpcAnalyticsClient::RecordReads(std::vector<analytics_v1::RecordReadRequest> reads,
                                      absl::Time deadline, const TraceContext& trace,
                                      Callback<std::vector<analytics_v1::ReadStats>> done) {
  using Call =
      UnaryCall<analytics_v1::BatchRecordReadsRequest, analytics_v1::BatchRecordReadsResponse,
                std::vector<analytics_v1::ReadStats>>;
  auto* call = new Call{.alive = calls_alive_->Acquire(), .done = std::move(done)};
  call->request.mutable_requests()->Reserve(static_cast<int>(reads.size()));
  for (auto& read : reads) *call->request.add_requests() = std::move(read);
  SetDeadline(call->context, deadline);
  SetTrace(call->context, trace);
  stub_->async()->BatchRecordReads(&call->context, &call->request, &call->response,
                                   PassStats(call, call->request.requests_size()));
}

void GrpcAnalyticsClient::BatchGetReadStats(std::vector<std::string> articles, absl::Time deadline,
                                            const TraceContext& trace,
                                            Callback<std::vector<analytics_v1::ReadStats>> done) {
  using Call =
      UnaryCall<analytics_v1::BatchGetReadStatsRequest, analytics_v1::BatchGetReadStatsResponse,
                std::vector<analytics_v1::ReadStats>>;
  auto* call = new Call{.alive = calls_alive_->Acquire(), .done = std::move(done)};
  for (auto& article : articles) call->request.add_articles(std::move(article));
  SetDeadline(call->context, deadline);
  SetTrace(call->context, trace);
  stub_->async()->BatchGetReadStats(&call->context, &call->request, &call->response,
                                    PassStats(call, call->request.articles_size()));
}

void GrpcAnalyticsClient::ListTopArticles(const analytics_v1::ListTopArticlesRequest& request,
                                          absl::Time deadline, const TraceContext& trace,
                                          Callback<analytics_v1::ListTopArticlesResponse> done) {
  using Call =
      UnaryCall<analytics_v1::ListTopArticlesRequest, analytics_v1::ListTopArticlesResponse,
                analytics_v1::ListTopArticlesResponse>;
  auto* call =
      new Call{.alive = calls_alive_->Acquire(), .request = request, .done = std::move(done)};
  SetDeadline(call->context, deadline);
  SetTrace(call->context, trace);
  stub_->async()->ListTopArticles(&call->context, &call->request, &call->response,
                                  PassResponse(call));
}

std::shared_ptr<AnalyticsClient::ReadStatsWatch> GrpcAnalyticsClient::WatchReadStats(
    std::vector<std::string> articles, const TraceContext& trace, WatchCallbacks callbacks) {
  analytics_v1::WatchReadStatsRequest request;
  for (auto& article : articles) request.add_articles(std::move(article));
  using Call = WatchCall<analytics_v1::WatchReadStatsRequest, analytics_v1::WatchReadStatsResponse>;
  auto call =
      std::make_shared<Call>(calls_alive_->Acquire(), std::move(request), std::move(callbacks));
  call->Start(stub_.get(), &analytics_v1::AnalyticsService::Stub::async_interface::WatchReadStats,
              trace);
  return call;
}

std::shared_ptr<AnalyticsClient::ReadStatsWatch> GrpcAnalyticsClient::WatchReadStatsChanges(
    const TraceContext& trace, WatchCallbacks callbacks) {
  using Call = WatchCall<analytics_v1::WatchReadStatsChangesRequest,
                         analytics_v1::WatchReadStatsChangesResponse>;
  auto call = std::make_shared<Call>(
      calls_alive_->Acquire(), analytics_v1::WatchReadStatsChangesRequest(), std::move(callbacks));
  call->Start(stub_.get(),
              &analytics_v1::AnalyticsService::Stub::async_interface::WatchReadStatsChanges, trace);
  return call;
}

absl::Status GrpcAnalyticsClient::BatchRecordReads(
    const std::vector<analytics_v1::RecordReadRequest>& reads, absl::Time deadline,
    const TraceContext& trace) {
  const CallbacksInFlight::Hold alive = calls_alive_->Acquire();  // outlives the context
  grpc::ClientContext context;
  SetDeadline(context, deadline);
  SetTrace(context, trace);
  analytics_v1::BatchRecordReadsRequest request;
  request.mutable_requests()->Reserve(static_cast<int>(reads.size()));
  for (const auto& read : reads) *request.add_requests() = read;
  analytics_v1::BatchRecordReadsResponse response;
  return FromGrpcStatus(stub_->BatchRecordReads(&context, request, &response));
}

}  // namespace newsroom::content
