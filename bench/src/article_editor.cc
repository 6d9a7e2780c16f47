#include "bench/src/article_editor.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/src/catalogue.h"
#include "common/src/grpc_status.h"

namespace newsroom::bench {

ArticleEditor::ArticleEditor(std::shared_ptr<grpc::Channel> channel, std::string editor_token,
                             int articles, double per_second, uint64_t seed)
    : stub_(newsroom::content::v1::ContentService::NewStub(std::move(channel))),
      authorization_(absl::StrCat("Bearer ", editor_token)),
      thread_([this, articles, per_second, seed] { Run(articles, per_second, seed); }) {}

void ArticleEditor::Stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

void ArticleEditor::Run(int articles, double per_second, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<int> article(0, articles - 1);
  const auto interval = std::chrono::duration<double>(1.0 / per_second);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 1; !stopping_.load(); ++i) {
    // Sleeps in short steps, so that stopping does not wait out a slow rate.
    const auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 interval * static_cast<double>(i));
    while (!stopping_.load() && std::chrono::steady_clock::now() < due) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          due - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
    }
    if (stopping_.load()) break;
    newsroom::content::v1::UpdateArticleRequest request;
    request.mutable_article()->set_name(absl::StrCat("articles/", BenchArticleId(article(random))));
    request.mutable_article()->set_subtitle(absl::StrCat("Updated by the benchmark's editor, ", i));
    request.mutable_update_mask()->add_paths("subtitle");
    grpc::ClientContext context;
    context.AddMetadata("authorization", authorization_);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    newsroom::content::v1::Article response;
    const grpc::Status status = stub_->UpdateArticle(&context, request, &response);
    if (status.ok()) {
      ++edits_;
    } else if (failed_edits_.fetch_add(1) == 0) {
      // The first failure says why (a wrong token, say); the count says how often.
      std::fprintf(stderr, "load_generator: an edit failed: %s: %s\n",
                   std::string(StatusCodeName(status.error_code())).c_str(),
                   status.error_message().c_str());
    }
  }
}

}  // namespace newsroom::bench
