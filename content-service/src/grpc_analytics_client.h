#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "content-service/src/analytics_client.h"
#include "content-service/src/callbacks_in_flight.h"
#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"

namespace newsroom::content {

// AnalyticsClient over one gRPC channel, created once and shared by every call.
//
// Destroying it waits for every call it started to be destroyed, ClientContext included. A
// ClientContext holds a reference to the channel, and gRPC 1.51 runs callbacks on threads of a
// process-wide completion queue that the last channel or server to go shuts down and joins. Were a
// call's ClientContext (freed after its callback, on one of those threads) the channel's last
// reference, that thread would join itself, fail, and the queue would be freed under it: the
// process aborts (`grpc_cq_internal_unref`, "prior > 0") at exit. Waiting makes the channel's last
// reference this object's, dropped on the thread that destroys it, provided the caller of the
// channel constructor keeps no reference of its own past this object (content-service's main uses
// the address constructor, which keeps none).
class GrpcAnalyticsClient final : public AnalyticsClient {
 public:
  // `address` is HOST:PORT. The channel connects lazily, so analytics-service may be down at start.
  // `credentials` null: plaintext (see common/src/tls_credentials.h for TLS).
  explicit GrpcAnalyticsClient(const std::string& address,
                               std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  explicit GrpcAnalyticsClient(std::shared_ptr<grpc::Channel> channel);
  GrpcAnalyticsClient(const GrpcAnalyticsClient&) = delete;
  GrpcAnalyticsClient& operator=(const GrpcAnalyticsClient&) = delete;
  // Waits up to kCallsDrainTimeout for the calls still alive (an owner must have ended its watches
  // by then). Past it, leaves the channel and the count to the calls, undestroyed, rather than
  // risk either.
  ~GrpcAnalyticsClient() override;

  static constexpr absl::Duration kCallsDrainTimeout = absl::Seconds(5);

  void RecordRead(const analytics_v1::RecordReadRequest& request, absl::Time deadline,
                  const TraceContext& trace, Callback<analytics_v1::ReadStats> done) override;
  void RecordReads(std::vector<analytics_v1::RecordReadRequest> reads, absl::Time deadline,
                   const TraceContext& trace,
                   Callback<std::vector<analytics_v1::ReadStats>> done) override;
  void BatchGetReadStats(std::vector<std::string> articles, absl::Time deadline,
                         const TraceContext& trace,
                         Callback<std::vector<analytics_v1::ReadStats>> done) override;
  void ListTopArticles(const analytics_v1::ListTopArticlesRequest& request, absl::Time deadline,
                       const TraceContext& trace,
                       Callback<analytics_v1::ListTopArticlesResponse> done) override;
  absl::Status BatchRecordReads(const std::vector<analytics_v1::RecordReadRequest>& reads,
                                absl::Time deadline, const TraceContext& trace) override;
  std::shared_ptr<ReadStatsWatch> WatchReadStats(std::vector<std::string> articles,
                                                 const TraceContext& trace,
                                                 WatchCallbacks callbacks) override;
  std::shared_ptr<ReadStatsWatch> WatchReadStatsChanges(const TraceContext& trace,
                                                        WatchCallbacks callbacks) override;

 private:
  // The calls alive: each call object holds one, destroyed after its ClientContext. Allocated, so
  // that it can outlive this object when calls outlive the wait.
  std::unique_ptr<CallbacksInFlight> calls_alive_ = std::make_unique<CallbacksInFlight>();
  std::unique_ptr<analytics_v1::AnalyticsService::Stub> stub_;
};

}  // namespace newsroom::content
