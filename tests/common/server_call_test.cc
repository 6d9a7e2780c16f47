#include "common/src/server_call.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/src/metrics.h"
#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"

namespace newsroom {
namespace {

// "newsroom.analytics.v1.AnalyticsService", read from its file's descriptor: that links the
// generated code, which is what puts the service in the descriptor pool.
std::string AnalyticsServiceName() {
  return analytics::v1::RecordReadRequest::descriptor()->file()->service(0)->full_name();
}

constexpr char kCallerTraceparent[] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

ObservedCall::Metadata WithTraceparents(const std::vector<std::string>& values) {
  ObservedCall::Metadata metadata;
  for (const std::string& value : values) metadata.emplace(kTraceparentKey, value);
  return metadata;
}

TEST(AccessLogLevelTest, ServerSideFailuresAreAlwaysLoggedAsErrors) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::UNKNOWN, grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::INTERNAL,
        grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::DATA_LOSS}) {
    EXPECT_EQ(AccessLogLevel(code, /*sampled=*/false), log::Level::kError) << code;
    EXPECT_EQ(AccessLogLevel(code, /*sampled=*/true), log::Level::kError) << code;
  }
}

TEST(AccessLogLevelTest, SuccessAndClientErrorsOnlyWhenSampled) {
  for (grpc::StatusCode code :
       {grpc::StatusCode::OK, grpc::StatusCode::NOT_FOUND, grpc::StatusCode::INVALID_ARGUMENT,
        grpc::StatusCode::PERMISSION_DENIED, grpc::StatusCode::CANCELLED,
        grpc::StatusCode::RESOURCE_EXHAUSTED}) {
    EXPECT_EQ(AccessLogLevel(code, /*sampled=*/false), std::nullopt) << code;
    EXPECT_EQ(AccessLogLevel(code, /*sampled=*/true), log::Level::kInfo) << code;
  }
}

TEST(CallObserverTest, OnlyRegisteredMethodsAreObservedInTheirHandlers) {
  ASSERT_EQ(AnalyticsServiceName(), "newsroom.analytics.v1.AnalyticsService");
  CallObserver observer(nullptr, 0.5);
  const ObservedMethod& record = observer.ObserveInHandler(AnalyticsServiceName(), "RecordRead");
  EXPECT_EQ(record.path, "/newsroom.analytics.v1.AnalyticsService/RecordRead");
  EXPECT_EQ(record.metrics, nullptr);
  EXPECT_EQ(record.sample_rate, 0.5);
  EXPECT_TRUE(observer.ObservedInHandler("/newsroom.analytics.v1.AnalyticsService/RecordRead"));
  // The interceptor observes the rest.
  EXPECT_FALSE(observer.ObservedInHandler("/newsroom.analytics.v1.AnalyticsService/GetReadStats"));
  EXPECT_FALSE(observer.ObservedInHandler("/grpc.health.v1.Health/Check"));
  // Later registrations leave earlier references valid.
  for (const char* method : {"GetReadStats", "BatchGetReadStats", "BatchRecordReads"}) {
    (void)observer.ObserveInHandler(AnalyticsServiceName(), method);
  }
  EXPECT_EQ(record.path, "/newsroom.analytics.v1.AnalyticsService/RecordRead");
}

TEST(CallObserverDeathTest, AMethodNoServiceDefinesIsAProgrammingError) {
  CallObserver observer(nullptr, 0);
  EXPECT_DEATH((void)observer.ObserveInHandler(AnalyticsServiceName(), "RecordReed"),
               "no such method");
}

TEST(ObservedCallTest, ACallersTraceparentContinuesItsTraceInANewSpan) {
  CallObserver observer(nullptr, 0);
  const ObservedMethod method = observer.Method("/p.S/M");
  const ObservedCall call(method, WithTraceparents({kCallerTraceparent}));
  const TraceContext caller = *ParseTraceparent(kCallerTraceparent);
  EXPECT_EQ(call.trace().trace_id, caller.trace_id);
  EXPECT_NE(call.trace().span_id, caller.span_id);
  EXPECT_TRUE(call.trace().sampled());  // the caller's decision, not this server's rate of 0
}

TEST(ObservedCallTest, NoneTwoOrAnInvalidTraceparentStartANewTraceAtTheMethodsRate) {
  CallObserver never(nullptr, 0);
  CallObserver always(nullptr, 1);
  const ObservedMethod unsampled = never.Method("/p.S/M");
  const ObservedMethod sampled = always.Method("/p.S/M");
  const TraceContext caller = *ParseTraceparent(kCallerTraceparent);
  for (const auto& traceparents : std::vector<std::vector<std::string>>{
           {}, {kCallerTraceparent, kCallerTraceparent}, {"00-not-a-traceparent"}}) {
    const ObservedMethod* methods[] = {&unsampled, &sampled};
    for (const ObservedMethod* method : methods) {
      const ObservedCall call(*method, WithTraceparents(traceparents));
      EXPECT_NE(call.trace().trace_id, caller.trace_id) << traceparents.size();
      EXPECT_EQ(call.trace().sampled(), method == &sampled) << traceparents.size();
    }
  }
}

TEST(ObservedCallTest, FinishCountsTheCallByCodeAndObservesItsLatencyOnce) {
  metrics::MetricsRegistry registry;
  GrpcServerMetrics grpc_metrics(registry, {AnalyticsServiceName()});
  CallObserver observer(&grpc_metrics, 0);
  const ObservedMethod& method = observer.ObserveInHandler(AnalyticsServiceName(), "RecordRead");
  ASSERT_NE(method.metrics, nullptr);
  ObservedCall(method, {}).Finish(grpc::Status(grpc::StatusCode::NOT_FOUND, "no such article"));
  ObservedCall(method, {}).Finish(grpc::Status::OK);
  ObservedCall(method, {}).Finish(grpc::Status::OK);
  EXPECT_EQ(method.metrics->handled[grpc::StatusCode::OK]->value(), 2u);
  EXPECT_EQ(method.metrics->handled[grpc::StatusCode::NOT_FOUND]->value(), 1u);
  EXPECT_EQ(method.metrics->handled[grpc::StatusCode::INTERNAL]->value(), 0u);
  EXPECT_EQ(method.metrics->latency->Read().count, 3u);
}

}  // namespace
}  // namespace newsroom
