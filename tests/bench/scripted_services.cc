#include "tests/bench/scripted_services.h"

#include <chrono>
#include <string>

namespace newsroom::testing {
namespace {

grpc::Status StatusWith(grpc::StatusCode code) {
  return code == grpc::StatusCode::OK ? grpc::Status::OK : grpc::Status(code, "scripted failure");
}

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, grpc::Status status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(std::move(status));
  return reactor;
}

}  // namespace

grpc::StatusCode CallScript::Next() {
  const grpc::StatusCode code = code_of_(next_call_.fetch_add(1));
  answered_[code].fetch_add(1);
  return code;
}

int64_t CallScript::answered(grpc::StatusCode code) const { return answered_[code].load(); }

void ReadLedger::Add(const std::string& article, const std::string& read_id) {
  absl::MutexLock lock(&mutex_);
  ++reads_;
  read_ids_.insert(read_id);
  ++reads_by_article_[article];
}

int64_t ReadLedger::reads() const {
  absl::MutexLock lock(&mutex_);
  return reads_;
}

int64_t ReadLedger::distinct_read_ids() const {
  absl::MutexLock lock(&mutex_);
  return static_cast<int64_t>(read_ids_.size());
}

int64_t ReadLedger::reads_of(const std::string& article) const {
  absl::MutexLock lock(&mutex_);
  const auto found = reads_by_article_.find(article);
  return found == reads_by_article_.end() ? 0 : found->second;
}

grpc::ServerUnaryReactor* ScriptedBenchService::Empty(grpc::CallbackServerContext* context,
                                                      const bench::v1::EmptyRequest*,
                                                      bench::v1::EmptyResponse*) {
  return Finish(context, StatusWith(script_->Next()));
}

grpc::ServerUnaryReactor* ScriptedAnalyticsService::BatchRecordReads(
    grpc::CallbackServerContext* context, const analytics::v1::BatchRecordReadsRequest* request,
    analytics::v1::BatchRecordReadsResponse* response) {
  for (const analytics::v1::RecordReadRequest& read : request->requests()) {
    ledger_->Add(read.article(), read.read_id());
    analytics::v1::ReadStats* stats = response->add_stats();
    stats->set_article(read.article());
    stats->set_reads(1);
  }
  return Finish(context, StatusWith(script_->Next()));
}

grpc::ServerUnaryReactor* ScriptedContentService::ReadArticle(
    grpc::CallbackServerContext* context, const content::v1::ReadArticleRequest* request,
    content::v1::Article* response) {
  // Every field a real article has before read_stats, so that the load generator's undecoded
  // check has to skip over them to find it.
  response->set_name(request->name());
  response->set_title("A title");
  response->set_subtitle("A subtitle");
  response->set_body(std::string(4000, 'x'));
  response->mutable_lead_image()->set_uri("https://example.com/lead.jpg");
  response->add_tags("news");
  response->set_language("en");
  response->add_authors("A. Writer");
  response->mutable_publish_time()->set_seconds(1'700'000'000);
  response->set_etag("etag-1");
  if (queued_(next_call_.fetch_add(1))) {
    answered_queued_.fetch_add(1);
  } else {
    response->mutable_read_stats()->set_article(request->name());
    response->mutable_read_stats()->set_reads(1);
  }
  return Finish(context, grpc::Status::OK);
}

InProcessServer::InProcessServer(const std::vector<grpc::Service*>& services) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
  for (grpc::Service* service : services) builder.RegisterService(service);
  server_ = builder.BuildAndStart();
}

InProcessServer::~InProcessServer() {
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
}

}  // namespace newsroom::testing
