// make_articles: a catalogue of N generated articles (bench-000000, bench-000001, ...), sized like
// real news pages: written as a content-service seed file (a ListArticlesResponse in protobuf JSON,
// --out), or created through a running content-service's CreateArticle (--target), for catalogues
// too large for a seed file.

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "bench/src/catalogue.h"
#include "newsroom/content/v1/content_service.grpc.pb.h"

ABSL_FLAG(int, count, 1000, "number of articles");
ABSL_FLAG(int, body_bytes, 2500, "approximate size of each article's body");
ABSL_FLAG(std::string, out, "", "seed file to write");
ABSL_FLAG(std::string, target, "", "or: content-service HOST:PORT to create the articles on");
ABSL_FLAG(int, threads, 8, "with --target: concurrent CreateArticle calls");
ABSL_FLAG(std::string, token_file, "",
          "with --target: file holding content-service's editor token (sent as "
          "`authorization: Bearer <token>`)");

namespace newsroom::bench {
namespace {

namespace content_v1 = ::newsroom::content::v1;

content_v1::Article MakeArticle(int index, int body_bytes) {
  const std::string id = BenchArticleId(index);
  content_v1::Article article;
  article.set_name(absl::StrCat("articles/", id));
  article.set_title(absl::StrCat("Benchmark article ", index,
                                 ": council approves the new harbour "
                                 "footbridge after a year of consultation"));
  article.set_subtitle(
      "Residents asked for a crossing that stays open at night; the council agreed to fund it from "
      "next year's transport budget");
  std::string body;
  for (int paragraph = 0; static_cast<int>(body.size()) < body_bytes; ++paragraph) {
    if (paragraph > 0) body += "\n\n";
    absl::StrAppend(&body, "Paragraph ", paragraph + 1, " of article ", index,
                    ". The footbridge will link the old fish market to the ferry terminal, "
                    "cutting a twenty-minute walk to five. Work starts in spring; the bridge is "
                    "expected to open before the summer festival, weather permitting.");
  }
  article.set_body(body);
  article.mutable_lead_image()->set_uri(
      absl::StrCat("https://images.example.com/bench/", id, ".jpg"));
  article.mutable_lead_image()->set_caption("The harbour at dusk, where the footbridge will cross");
  article.mutable_lead_image()->set_alt_text("A harbour with small boats under an evening sky");
  article.mutable_lead_image()->set_credit("Bench Photographer");
  article.mutable_source()->set_name("The Benchmark Gazette");
  article.mutable_source()->set_uri(absl::StrCat("https://news.example.com/", id));
  article.add_tags(kBenchTags[index % 10]);
  article.add_tags(
      kBenchTags[(index / 10) % 10 == index % 10 ? (index + 1) % 10 : (index / 10) % 10]);
  article.set_language("en");
  article.add_authors("A. Reporter");
  // One article a minute, newest last, ending at 2024-01-01.
  *article.mutable_publish_time() =
      google::protobuf::util::TimeUtil::SecondsToTimestamp(1704067200 - int64_t{60} * index);
  return article;
}

// The editor token from --token_file, one trailing newline trimmed; "" without the flag.
bool ReadEditorToken(std::string* token) {
  const std::string path = absl::GetFlag(FLAGS_token_file);
  if (path.empty()) return true;
  std::ifstream in(path, std::ios::binary);
  std::getline(in, *token);
  if (!in && !in.eof()) {
    std::fprintf(stderr, "make_articles: cannot read --token_file=%s\n", path.c_str());
    return false;
  }
  return true;
}

// Creates articles 0..count-1 through CreateArticle; an article that already exists counts as
// created, so a rerun completes a catalogue.
int CreateThroughApi(const std::string& target, int count, int threads) {
  std::string token;
  if (!ReadEditorToken(&token)) return 1;
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = content_v1::ContentService::NewStub(channel);
  std::atomic<int> next = 0;
  std::atomic<int> failed = 0;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i; (i = next++) < count && failed == 0;) {
        content_v1::CreateArticleRequest request;
        request.set_article_id(BenchArticleId(i));
        *request.mutable_article() = MakeArticle(i, absl::GetFlag(FLAGS_body_bytes));
        content_v1::Article created;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
        const grpc::Status status = stub->CreateArticle(&context, request, &created);
        if (!status.ok() && status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
          std::fprintf(stderr, "make_articles: CreateArticle %d: %s\n", i,
                       status.error_message().c_str());
          ++failed;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  return failed == 0 ? 0 : 1;
}

int Run() {
  const int count = absl::GetFlag(FLAGS_count);
  const std::string path = absl::GetFlag(FLAGS_out);
  const std::string target = absl::GetFlag(FLAGS_target);
  if (path.empty() == target.empty()) {
    std::fprintf(stderr, "make_articles: give exactly one of --out and --target\n");
    return 1;
  }
  if (count < 1 || absl::GetFlag(FLAGS_threads) < 1) {
    std::fprintf(stderr, "make_articles: --count and --threads must be at least 1\n");
    return 1;
  }
  if (!target.empty()) return CreateThroughApi(target, count, absl::GetFlag(FLAGS_threads));
  content_v1::ListArticlesResponse catalogue;
  for (int i = 0; i < count; ++i) {
    *catalogue.add_articles() = MakeArticle(i, absl::GetFlag(FLAGS_body_bytes));
  }
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(catalogue, &json).ok()) {
    std::fprintf(stderr, "make_articles: cannot encode the catalogue\n");
    return 1;
  }
  std::ofstream out(path);
  out << json;
  if (!out.good()) {
    std::fprintf(stderr, "make_articles: cannot write %s\n", path.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace newsroom::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "make_articles --count=N (--out=FILE | --target=HOST:PORT [--token_file=FILE])");
  absl::ParseCommandLine(argc, argv);
  return newsroom::bench::Run();
}
