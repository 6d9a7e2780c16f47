#include "content-service/src/grpc_analytics_client.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace newsroom::content {
namespace {

namespace analytics_v1 = ::newsroom::analytics::v1;

// analytics-service's RecordRead and WatchReadStatsChanges on gRPC's synchronous API. A synchronous
// server takes no reference to the completion queue that runs client callbacks, so the client's
// channel holds the only one, as content-service's does once its own server is gone at exit.
class SyncAnalytics final : public analytics_v1::AnalyticsService::Service {
 public:
  grpc::Status RecordRead(grpc::ServerContext*, const analytics_v1::RecordReadRequest* request,
                          analytics_v1::ReadStats* stats) override {
    stats->set_article(request->article());
    stats->set_reads(1);
    return grpc::Status::OK;
  }
  grpc::Status WatchReadStatsChanges(
      grpc::ServerContext*, const analytics_v1::WatchReadStatsChangesRequest*,
      grpc::ServerWriter<analytics_v1::WatchReadStatsChangesResponse>*) override {
    return {grpc::StatusCode::UNAVAILABLE, "shutting down"};
  }
};

class GrpcAnalyticsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    client_ = std::make_unique<GrpcAnalyticsClient>(absl::StrCat("127.0.0.1:", port_));
  }

  // Shuts the server down, then destroys the client while a callback of it is still running, and
  // waits a second. Without the client's wait, gRPC's thread would free the call within that
  // second, with it the channel's last reference, and the process would abort; with the wait, the
  // call was freed before the client went. (The second is no bound on anything the test checks: on
  // a machine too slow to free the call in it, the test would only miss a regression.)
  void DestroyBoth() {
    server_->Shutdown();
    server_.reset();
    client_.reset();
    absl::SleepFor(absl::Seconds(1));
  }

  SyncAnalytics service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<GrpcAnalyticsClient> client_;
};

// A unary call's ClientContext, which refers to the channel, is freed after its callback, on
// gRPC's callback thread. Were the client not to wait for it, the channel's last reference would go
// there: gRPC would shut its callback threads down from one of them, and the process would abort
// ("prior > 0" in grpc_cq_internal_unref), as content-service's did at exit.
TEST_F(GrpcAnalyticsClientTest, DestroyedDuringACallbackItWaitsForTheCallToBeFreed) {
  absl::Notification answered;
  analytics_v1::RecordReadRequest request;
  request.set_article("articles/a");
  client_->RecordRead(request, absl::Now() + absl::Seconds(10), TraceContext{},
                      [&answered](absl::StatusOr<analytics_v1::ReadStats> stats) {
                        EXPECT_TRUE(stats.ok()) << stats.status();
                        answered.Notify();
                        // The test destroys the client now; the call is freed after this returns.
                        absl::SleepFor(absl::Milliseconds(300));
                      });
  answered.WaitForNotification();
  DestroyBoth();
}

// The same for a watch stream, whose ClientContext goes with the call after on_done.
TEST_F(GrpcAnalyticsClientTest, DestroyedAfterAWatchEndedItWaitsForTheWatchToBeFreed) {
  absl::Notification ended;
  auto watch = client_->WatchReadStatsChanges(
      TraceContext{}, {.on_update = [](std::vector<analytics_v1::ReadStats>) {},
                       .on_done =
                           [&ended](absl::Status status) {
                             EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
                             ended.Notify();
                             absl::SleepFor(absl::Milliseconds(300));
                           }});
  watch.reset();  // the call owns itself until it is done
  ended.WaitForNotification();
  DestroyBoth();
}

}  // namespace
}  // namespace newsroom::content
