// empty_server: serves newsroom.bench.v1.BenchService/Empty exactly the way Newsroom's services
// serve their busiest methods (newsroom::GrpcServer: callback API, health, reflection, same
// options; a raw method that parses its request and observes its own calls, as GetArticle,
// ReadArticle and RecordRead do; on tcmalloc, as analytics-service is), so that a benchmark can
// measure the framework's own limit in the same run as the services.
//
// On SIGTERM or SIGINT it stops and prints "empty_server served N calls OK": the calls its handler
// answered with OK, for checking a client's count against (h2load counts a call that ends with a
// gRPC error as a success, since its HTTP status is still 200). A call answered otherwise is not
// counted: an unparsable request (INVALID_ARGUMENT, from the handler) or an unknown method
// (UNIMPLEMENTED, from gRPC); a call the handler answered but whose client had gone by then is.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "common/src/allocator.h"
#include "common/src/grpc_server.h"
#include "common/src/host_port.h"
#include "common/src/raw_request.h"
#include "common/src/server_call.h"
#include "common/src/unary_reactor.h"
#include "newsroom/bench/v1/bench_service.grpc.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "HOST:PORT to serve on; port 0 picks a free port");

namespace newsroom::bench {
namespace {

using RawEmptyService =
    v1::BenchService::WithRawCallbackMethod_Empty<v1::BenchService::CallbackService>;

class EmptyService final : public RawEmptyService {
 public:
  explicit EmptyService(CallObserver* observer)
      : empty_(observer->ObserveInHandler(v1::BenchService::service_full_name(), "Empty")) {}

  grpc::ServerUnaryReactor* Empty(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override {
    const ObservedCall call(empty_, context->client_metadata());
    v1::EmptyRequest parsed;
    if (!ParseRawRequest(*request, &parsed)) {
      return FinishObserved(context, call, UnparsableRequestStatus());
    }
    bool own_buffer = false;
    grpc::Status status = grpc::SerializationTraits<v1::EmptyResponse>::Serialize(
        v1::EmptyResponse(), response, &own_buffer);
    if (status.ok()) ok_calls_.fetch_add(1, std::memory_order_relaxed);
    return FinishObserved(context, call, std::move(status));
  }

  // Calls answered with OK so far.
  [[nodiscard]] int64_t ok_calls() const { return ok_calls_.load(std::memory_order_relaxed); }

 private:
  const ObservedMethod& empty_;
  // Relaxed: a count, ordered with nothing; on a line of its own so that the increments of the
  // handler's threads contend with nothing else.
  alignas(64) std::atomic<int64_t> ok_calls_{0};
};

int Run() {
  const std::string listen = absl::GetFlag(FLAGS_listen);
  absl::StatusOr<HostPort> host_port = ParseHostPort(listen, "--listen");
  if (!host_port.ok()) {
    std::fprintf(stderr, "empty_server: %s\n", std::string(host_port.status().message()).c_str());
    return 1;
  }
  // As the services run by default: no metrics, new traces sampled at 0.01.
  CallObserver observer(nullptr, 0.01);
  EmptyService service(&observer);
  absl::StatusOr<std::unique_ptr<GrpcServer>> server = GrpcServer::Start(GrpcServerOptions{
      .listen_address = listen, .services = {&service}, .call_observer = &observer});
  if (!server.ok()) {
    std::fprintf(stderr, "empty_server: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  (*server)->SetServing(true);
  std::printf("empty_server listening on %s:%d\n", host_port->host.c_str(), (*server)->port());
  std::fflush(stdout);
  WaitForShutdownSignal();
  (*server)->Shutdown(absl::Seconds(1));
  std::printf("empty_server served %lld calls OK\n", static_cast<long long>(service.ok_calls()));
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace newsroom::bench

int main(int argc, char** argv) {
  newsroom::PrepareServerProcess(argv[0]);
  newsroom::ConfigureAllocator();  // as analytics-service does: the framework limit, tuned
  absl::SetProgramUsageMessage("empty_server [--listen=HOST:PORT]");
  absl::ParseCommandLine(argc, argv);
  return newsroom::bench::Run();
}
