#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "newsroom/content/v1/content_service.grpc.pb.h"

namespace newsroom::bench {

// Edits the benchmark's catalogue at a fixed rate while a load runs, as a newsroom's editors do
// while readers list and read: every 1/per_second seconds, an UpdateArticle of one article drawn
// uniformly from the catalogue (a new subtitle, the standfirst), with the editor token, on a
// channel of its own. It measures nothing; it counts the edits, so a run can check that they
// happened.
class ArticleEditor final {
 public:
  ArticleEditor(std::shared_ptr<grpc::Channel> channel, std::string editor_token, int articles,
                double per_second, uint64_t seed);
  // Stops and joins the thread, after the edit in flight (at most its 5 s deadline).
  void Stop();
  ~ArticleEditor() { Stop(); }
  ArticleEditor(const ArticleEditor&) = delete;
  ArticleEditor& operator=(const ArticleEditor&) = delete;

  [[nodiscard]] int64_t edits() const { return edits_.load(); }
  [[nodiscard]] int64_t failed_edits() const { return failed_edits_.load(); }

 private:
  void Run(int articles, double per_second, uint64_t seed);

  std::unique_ptr<newsroom::content::v1::ContentService::Stub> stub_;
  const std::string authorization_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> edits_{0};
  std::atomic<int64_t> failed_edits_{0};
  std::thread thread_;
};

}  // namespace newsroom::bench
