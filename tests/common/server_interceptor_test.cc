#include "common/src/server_interceptor.h"

#include <gtest/gtest.h>

#include "common/src/grpc_status.h"

namespace newsroom {
namespace {

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
