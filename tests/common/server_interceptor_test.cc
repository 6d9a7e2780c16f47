#include "common/src/server_interceptor.h"

#include <gtest/gtest.h>

#include "common/src/grpc_status.h"

namespace newsroom {
namespace {

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

TEST(StatusCodeNameTest, NamesEveryCodeAsGrpcDoes) {
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::CANCELLED), "CANCELLED");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::NOT_FOUND), "NOT_FOUND");
  EXPECT_EQ(StatusCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_EQ(StatusCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

TEST(CurrentCallTraceTest, OutsideAHandlerIsANewUnsampledTrace) {
  const TraceContext first = CurrentCallTrace();
  EXPECT_FALSE(first.sampled());
  EXPECT_NE(first.trace_id, CurrentCallTrace().trace_id);
}

}  // namespace
}  // namespace newsroom
