// The bench empty server's count of the calls it answered with OK, which bench/h2load-empty checks
// h2load's figure against: exact for OK calls, blind to calls gRPC refuses before the handler.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <csignal>
#include <future>
#include <memory>
#include <string>

#include "newsroom/bench/v1/bench_service.grpc.pb.h"
#include "tests/support/build_paths.h"
#include "tests/support/process.h"
#include "tests/support/waiting.h"

namespace newsroom::testing {
namespace {

constexpr char kEmptyMethod[] = "/newsroom.bench.v1.BenchService/Empty";

// Sends `request` as raw bytes to `method` and returns the call's status.
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                     const std::string& request) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  auto context = Context();
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  return done.get_future().get();
}

TEST(EmptyServerTest, PrintsTheCallsItAnsweredWithOkOnShutdown) {
  StartedService server = StartService(build_paths::kEmptyServer, {});
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  auto stub = bench::v1::BenchService::NewStub(channel);
  constexpr int kOkCalls = 7;
  for (int i = 0; i < kOkCalls; ++i) {
    bench::v1::EmptyResponse response;
    const grpc::Status status = stub->Empty(Context().get(), bench::v1::EmptyRequest(), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  // Errors that an HTTP/2 client such as h2load sees as a 200 response: a request that is not a
  // valid message (a field tag with its value missing), and a method the server does not have.
  EXPECT_EQ(RawCall(channel, kEmptyMethod, std::string("\x08", 1)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(RawCall(channel, "/newsroom.bench.v1.BenchService/Missing", "").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);

  server.process->Signal(SIGTERM);
  const auto line = server.process->WaitForLine("served", std::chrono::seconds(10));
  ASSERT_TRUE(line.has_value()) << "no \"served\" line on stdout";
  EXPECT_EQ(*line, "empty_server served " + std::to_string(kOkCalls) + " calls OK");
  EXPECT_EQ(server.process->Wait(std::chrono::seconds(10)), 0);
}

}  // namespace
}  // namespace newsroom::testing
