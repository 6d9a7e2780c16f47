#pragma once

// Servers that answer the load generator's calls as a test scripts them (this status for the k-th
// call, this response without read_stats) and count what they answered, so that a test can check
// the generator's figures against the truth. In-process, on a free loopback port.

#include <grpcpp/grpcpp.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"
#include "newsroom/bench/v1/bench_service.grpc.pb.h"
#include "newsroom/content/v1/content_service.grpc.pb.h"

namespace newsroom::testing {

// The status of each call to a scripted method, by order of arrival (0 is the load generator's
// probe), and a count of the calls answered with each status.
class CallScript final {
 public:
  explicit CallScript(std::function<grpc::StatusCode(int64_t call)> code_of)
      : code_of_(std::move(code_of)) {}

  // The code for the next call, counted as answered.
  grpc::StatusCode Next();
  // Calls answered with `code` so far.
  [[nodiscard]] int64_t answered(grpc::StatusCode code) const;

 private:
  const std::function<grpc::StatusCode(int64_t)> code_of_;
  std::atomic<int64_t> next_call_{0};
  std::array<std::atomic<int64_t>, 17> answered_{};
};

// The article and read id of every read a scripted server was sent, answered or not.
class ReadLedger final {
 public:
  void Add(const std::string& article, const std::string& read_id);
  [[nodiscard]] int64_t reads() const;
  [[nodiscard]] int64_t distinct_read_ids() const;
  // Reads sent of `article` ("articles/bench-000000").
  [[nodiscard]] int64_t reads_of(const std::string& article) const;

 private:
  mutable absl::Mutex mutex_;
  int64_t reads_ ABSL_GUARDED_BY(mutex_) = 0;
  std::unordered_set<std::string> read_ids_ ABSL_GUARDED_BY(mutex_);
  std::unordered_map<std::string, int64_t> reads_by_article_ ABSL_GUARDED_BY(mutex_);
};

// BenchService.Empty, answered as `script` says.
class ScriptedBenchService final : public bench::v1::BenchService::CallbackService {
 public:
  explicit ScriptedBenchService(CallScript* script) : script_(script) {}
  grpc::ServerUnaryReactor* Empty(grpc::CallbackServerContext* context,
                                  const bench::v1::EmptyRequest* request,
                                  bench::v1::EmptyResponse* response) override;

 private:
  CallScript* script_;
};

// AnalyticsService.BatchRecordReads, answered as `script` says; every read sent goes to `ledger`.
class ScriptedAnalyticsService final : public analytics::v1::AnalyticsService::CallbackService {
 public:
  ScriptedAnalyticsService(CallScript* script, ReadLedger* ledger)
      : script_(script), ledger_(ledger) {}
  grpc::ServerUnaryReactor* BatchRecordReads(
      grpc::CallbackServerContext* context, const analytics::v1::BatchRecordReadsRequest* request,
      analytics::v1::BatchRecordReadsResponse* response) override;

 private:
  CallScript* script_;
  ReadLedger* ledger_;
};

// ContentService.ReadArticle, always OK: a whole article, with read_stats unless `queued(call)`
// (the read only queued, as content-service answers when analytics-service is slow).
class ScriptedContentService final : public content::v1::ContentService::CallbackService {
 public:
  explicit ScriptedContentService(std::function<bool(int64_t call)> queued)
      : queued_(std::move(queued)) {}
  grpc::ServerUnaryReactor* ReadArticle(grpc::CallbackServerContext* context,
                                        const content::v1::ReadArticleRequest* request,
                                        content::v1::Article* response) override;

  // Calls answered so far, and those of them answered without read_stats.
  [[nodiscard]] int64_t answered() const { return next_call_.load(); }
  [[nodiscard]] int64_t answered_queued() const { return answered_queued_.load(); }

 private:
  const std::function<bool(int64_t)> queued_;
  std::atomic<int64_t> next_call_{0};
  std::atomic<int64_t> answered_queued_{0};
};

// `services`, served in this process on a free 127.0.0.1 port until destroyed.
class InProcessServer final {
 public:
  explicit InProcessServer(const std::vector<grpc::Service*>& services);
  ~InProcessServer();
  InProcessServer(const InProcessServer&) = delete;
  InProcessServer& operator=(const InProcessServer&) = delete;

  [[nodiscard]] bool started() const { return server_ != nullptr && port_ > 0; }
  [[nodiscard]] std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace newsroom::testing
