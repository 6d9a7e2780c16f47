// load_generator: drives one scenario against a Newsroom service (or the bench empty server) on the
// gRPC callback client API and reports throughput, latency percentiles and errors by status code.
//
// Closed loop (default): --channels x --inflight calls are always outstanding; each completion
// starts the next call. Open loop (--rate=N): calls are started on a fixed schedule whatever the
// server does, and each call's latency is measured from the time it was meant to be sent, so a
// stalled server shows as latency instead of silently lowering the offered load (no coordinated
// omission). No thread is parked per call: completions run on gRPC's own threads.

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "bench/src/article_editor.h"
#include "bench/src/article_popularity.h"
#include "bench/src/catalogue.h"
#include "bench/src/histogram.h"
#include "bench/src/process_cpu.h"
#include "bench/src/rng.h"
#include "common/src/grpc_status.h"
#include "newsroom/analytics/v1/analytics_service.grpc.pb.h"
#include "newsroom/bench/v1/bench_results.pb.h"
#include "newsroom/bench/v1/bench_service.grpc.pb.h"
#include "newsroom/content/v1/content_service.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "HOST:PORT of the server under load");
ABSL_FLAG(std::string, scenario, "empty",
          "empty | get_article | read_article | list_articles | record_read | batch_record_reads");
ABSL_FLAG(int, channels, 4, "gRPC channels (each its own TCP connection)");
ABSL_FLAG(int, inflight, 32, "closed loop: calls kept in flight on each channel");
ABSL_FLAG(double, rate, 0, "open loop: calls started per second (0: closed loop)");
ABSL_FLAG(int, max_outstanding, 20000,
          "open loop: calls allowed in flight at once; a send beyond it is counted as missed");
ABSL_FLAG(absl::Duration, warmup, absl::Seconds(2), "load before measuring starts");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(8), "measured time");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(5), "deadline of each call");
ABSL_FLAG(int, articles, 1000, "catalogue size: articles bench-000000.. exist on the server");
ABSL_FLAG(double, article_skew, 0,
          "Zipf exponent of the articles' popularity, 0 to 4, ranked in catalogue order "
          "(bench-000000 most read): 0, every article equally likely; 1, the k-th most read is "
          "read 1/k as often as the first");
ABSL_FLAG(int, readers, 10000, "distinct reader ids to draw from (0: no reader id)");
ABSL_FLAG(uint64_t, seed, 0,
          "seed of the articles and readers drawn from the pools (0: a new one every run, so that "
          "runs against one Redis do not replay the same (article, reader) pairs, which a "
          "HyperLogLog then already holds)");
ABSL_FLAG(int, batch_size, 100, "batch_record_reads: reads per call");
ABSL_FLAG(int, page_size, 20, "list_articles: page size");
ABSL_FLAG(bool, list_tags, false,
          "list_articles: each call lists the front page or one of the catalogue's ten tags, "
          "drawn evenly (11 listings), instead of the front page only");
ABSL_FLAG(double, edits_per_second, 0,
          "while the load runs, also edit articles of the catalogue at this rate (UpdateArticle of "
          "a random article's subtitle; needs --editor_token_file); 0: none");
ABSL_FLAG(std::string, editor_token_file, "", "the editor token, for --edits_per_second");
ABSL_FLAG(std::string, edit_target, "",
          "HOST:PORT the edits are sent to: another replica on the same database, whose changes "
          "the one under load hears announced (default: --target)");
ABSL_FLAG(std::string, label, "", "free-form label copied into the JSON (e.g. throughput)");
ABSL_FLAG(int, round, 1, "round of a repeated benchmark, copied into the JSON");
ABSL_FLAG(std::string, json_out, "", "write the result as JSON to this file");
ABSL_FLAG(bool, header, true, "print the table header before the result row");
ABSL_FLAG(bool, decode, false,
          "decode every article-carrying response (get_article, read_article, list_articles) into "
          "its message, as an application would; by default only the status is checked (and, for "
          "read_article, whether read_stats is there), as h2load does, so that the client's "
          "parsing does not take the shared cores from the server under test");
ABSL_FLAG(std::string, cpu_of, "",
          "NAME=PID,...: also report the CPU time these local processes spend per call in the "
          "measured window (this load generator's own is always reported)");

namespace newsroom::bench {
namespace {

namespace analytics_v1 = ::newsroom::analytics::v1;
namespace content_v1 = ::newsroom::content::v1;

using Clock = std::chrono::steady_clock;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// What the requests are made of: which articles exist and how often each is read, the reader
// pool, unique read ids.
class Workload final {
 public:
  Workload(int articles, double article_skew, int readers)
      : popularity_(articles, article_skew), readers_(readers) {
    names_.reserve(articles);
    for (int i = 0; i < articles; ++i)
      names_.push_back(absl::StrCat("articles/", BenchArticleId(i)));
    std::random_device device;
    nonce_ = absl::StrFormat("lg%08x", device());
  }

  const std::string& RandomArticle(Rng& rng) const { return names_[popularity_.Draw(rng.Next())]; }

  void SetRandomReader(Rng& rng, std::string* reader_id) const {
    reader_id->clear();
    if (readers_ > 0) absl::StrAppend(reader_id, "reader-", rng.Below(readers_));
  }

  // A read id never used before by any load generator run (random nonce + counter).
  void SetNextReadId(std::string* read_id) {
    read_id->clear();
    absl::StrAppend(read_id, nonce_, "-", next_read_.fetch_add(1, std::memory_order_relaxed));
  }

 private:
  std::vector<std::string> names_;
  ArticlePopularity popularity_;
  int readers_;
  std::string nonce_;
  std::atomic<uint64_t> next_read_{0};
};

// One scenario's call, reused call after call (closed loop) or made per call (open loop).
class Call {
 public:
  virtual ~Call() = default;
  // Fills in the next request and starts it; `done` runs once, on a gRPC thread.
  virtual void Start(grpc::ClientContext* context, std::function<void(grpc::Status)> done) = 0;
  // Reads the call records when it succeeds (0 for the read-only scenarios).
  [[nodiscard]] virtual int64_t reads() const { return 0; }
  // True when a successful call's read was only queued (ReadArticle answered without read_stats).
  [[nodiscard]] virtual bool queued() const { return false; }
};

// A call whose response stays as the bytes gRPC received, undecoded (see --decode), sent through
// the generic stub under the method's full name.
class UndecodedUnary {
 public:
  UndecodedUnary(grpc::GenericStub* stub, std::string method)
      : stub_(stub), method_(std::move(method)) {}

  void Start(const google::protobuf::MessageLite& request, grpc::ClientContext* context,
             std::function<void(grpc::Status)> done) {
    request_.Clear();
    response_.Clear();
    bool own_buffer = false;
    grpc::SerializationTraits<google::protobuf::MessageLite>::Serialize(request, &request_,
                                                                        &own_buffer);
    stub_->UnaryCall(context, method_, grpc::StubOptions(), &request_, &response_, std::move(done));
  }

  // Whether the response holds field `field_number` at its top level; every other field is
  // skipped over undecoded.
  [[nodiscard]] bool ResponseHasField(int field_number) {
    using google::protobuf::internal::WireFormatLite;
    grpc::ProtoBufferReader reader(&response_);
    google::protobuf::io::CodedInputStream input(&reader);
    while (const uint32_t tag = input.ReadTag()) {
      if (WireFormatLite::GetTagFieldNumber(tag) == field_number) return true;
      if (!WireFormatLite::SkipField(&input, tag)) return false;
    }
    return false;
  }

 private:
  grpc::GenericStub* stub_;
  const std::string method_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

// The full name gRPC sends for `method` of content-service.
std::string ContentMethod(const char* method) {
  return absl::StrCat("/", content_v1::ContentService::service_full_name(), "/", method);
}

class EmptyCall final : public Call {
 public:
  explicit EmptyCall(v1::BenchService::Stub* stub) : stub_(stub) {}
  void Start(grpc::ClientContext* context, std::function<void(grpc::Status)> done) override {
    stub_->async()->Empty(context, &request_, &response_, std::move(done));
  }

 private:
  v1::BenchService::Stub* stub_;
  v1::EmptyRequest request_;
  v1::EmptyResponse response_;
};

class GetArticleCall final : public Call {
 public:
  // `undecoded` is null with --decode.
  GetArticleCall(content_v1::ContentService::Stub* stub, grpc::GenericStub* undecoded,
                 const Workload* workload, uint64_t seed)
      : stub_(stub), workload_(workload), rng_(seed) {
    if (undecoded != nullptr) undecoded_.emplace(undecoded, ContentMethod("GetArticle"));
  }
  void Start(grpc::ClientContext* context, std::function<void(grpc::Status)> done) override {
    request_.set_name(workload_->RandomArticle(rng_));
    if (undecoded_) return undecoded_->Start(request_, context, std::move(done));
    response_.Clear();
    stub_->async()->GetArticle(context, &request_, &response_, std::move(done));
  }

 private:
  content_v1::ContentService::Stub* stub_;
  const Workload* workload_;
  Rng rng_;
  content_v1::GetArticleRequest request_;
  content_v1::Article response_;
  std::optional<UndecodedUnary> undecoded_;
};

class ReadArticleCall final : public Call {
 public:
  // `undecoded` is null with --decode.
  ReadArticleCall(content_v1::ContentService::Stub* stub, grpc::GenericStub* undecoded,
                  Workload* workload, uint64_t seed)
      : stub_(stub), workload_(workload), rng_(seed) {
    if (undecoded != nullptr) undecoded_.emplace(undecoded, ContentMethod("ReadArticle"));
  }
  void Start(grpc::ClientContext* context, std::function<void(grpc::Status)> done) override {
    request_.set_name(workload_->RandomArticle(rng_));
    workload_->SetRandomReader(rng_, request_.mutable_reader_id());
    workload_->SetNextReadId(request_.mutable_read_id());
    if (undecoded_) return undecoded_->Start(request_, context, std::move(done));
    response_.Clear();
    stub_->async()->ReadArticle(context, &request_, &response_, std::move(done));
  }
  int64_t reads() const override { return 1; }
  bool queued() const override {
    if (undecoded_)
      return !undecoded_->ResponseHasField(content_v1::Article::kReadStatsFieldNumber);
    return !response_.has_read_stats();
  }

 private:
  content_v1::ContentService::Stub* stub_;
  Workload* workload_;
  Rng rng_;
  content_v1::ReadArticleRequest request_;
  content_v1::Article response_;
  // mutable: queued() reads the undecoded response, which needs a reader over its bytes.
  mutable std::optional<UndecodedUnary> undecoded_;
};

class ListArticlesCall final : public Call {
 public:
  // `undecoded` is null with --decode. With `tags`, each call lists the front page or a tag.
  ListArticlesCall(content_v1::ContentService::Stub* stub, grpc::GenericStub* undecoded,
                   int page_size, bool tags, uint64_t seed)
      : stub_(stub), tags_(tags), rng_(seed) {
    request_.set_page_size(page_size);
    if (undecoded != nullptr) undecoded_.emplace(undecoded, ContentMethod("ListArticles"));
  }
  void Start(grpc::ClientContext* context, std::function<void(grpc::Status)> done) override {
    if (tags_) {
      const int tag = rng_.Below(std::size(kBenchTags) + 1);
      request_.set_tag(tag == 0 ? "" : kBenchTags[tag - 1]);
    }
    if (undecoded_) return undecoded_->Start(request_, context, std::move(done));
    response_.Clear();
    stub_->async()->ListArticles(context, &request_, &response_, std::move(done));
  }

 private:
  content_v1::ContentService::Stub* stub_;
  const bool tags_;
  Rng rng_;
  content_v1::ListArticlesRequest request_;
  content_v1::ListArticlesResponse response_;
  std::optional<UndecodedUnary> undecoded_;
};

class RecordReadCall final : public Call {
 public:
  RecordReadCall(analytics_v1::AnalyticsService::Stub* stub, Workload* workload, uint64_t seed)
      : stub_(stub), workload_(workload), rng_(seed) {}
  void Start(grpc::ClientContext* context, std::function<void(grpc::Status)> done) override {
    request_.set_article(workload_->RandomArticle(rng_));
    workload_->SetRandomReader(rng_, request_.mutable_reader_id());
    workload_->SetNextReadId(request_.mutable_read_id());
    stub_->async()->RecordRead(context, &request_, &response_, std::move(done));
  }
  int64_t reads() const override { return 1; }

 private:
  analytics_v1::AnalyticsService::Stub* stub_;
  Workload* workload_;
  Rng rng_;
  analytics_v1::RecordReadRequest request_;
  analytics_v1::ReadStats response_;
};

class BatchRecordReadsCall final : public Call {
 public:
  BatchRecordReadsCall(analytics_v1::AnalyticsService::Stub* stub, Workload* workload,
                       uint64_t seed, int batch_size)
      : stub_(stub), workload_(workload), rng_(seed) {
    for (int i = 0; i < batch_size; ++i) request_.add_requests();
  }
  void Start(grpc::ClientContext* context, std::function<void(grpc::Status)> done) override {
    for (analytics_v1::RecordReadRequest& read : *request_.mutable_requests()) {
      read.set_article(workload_->RandomArticle(rng_));
      workload_->SetRandomReader(rng_, read.mutable_reader_id());
      workload_->SetNextReadId(read.mutable_read_id());
    }
    response_.Clear();
    stub_->async()->BatchRecordReads(context, &request_, &response_, std::move(done));
  }
  int64_t reads() const override { return request_.requests_size(); }

 private:
  analytics_v1::AnalyticsService::Stub* stub_;
  Workload* workload_;
  Rng rng_;
  analytics_v1::BatchRecordReadsRequest request_;
  analytics_v1::BatchRecordReadsResponse response_;
};

// Makes the calls of one scenario over a set of channels.
class Scenario final {
 public:
  static absl::StatusOr<std::unique_ptr<Scenario>> Create(
      const std::string& name, const std::vector<std::shared_ptr<grpc::Channel>>& channels,
      Workload* workload, int batch_size, int page_size, bool list_tags, bool decode,
      uint64_t seed) {
    static const char* const kNames[] = {"empty",         "get_article", "read_article",
                                         "list_articles", "record_read", "batch_record_reads"};
    if (std::find(std::begin(kNames), std::end(kNames), name) == std::end(kNames)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--scenario: unknown scenario \"", name, "\""));
    }
    auto scenario = std::unique_ptr<Scenario>(
        new Scenario(name, workload, batch_size, page_size, list_tags, seed));
    for (const auto& channel : channels) {
      scenario->bench_stubs_.push_back(v1::BenchService::NewStub(channel));
      scenario->content_stubs_.push_back(content_v1::ContentService::NewStub(channel));
      scenario->analytics_stubs_.push_back(analytics_v1::AnalyticsService::NewStub(channel));
      if (!decode) scenario->generic_stubs_.push_back(std::make_unique<grpc::GenericStub>(channel));
    }
    return scenario;
  }

  std::unique_ptr<Call> NewCall(int channel) {
    const uint64_t seed = next_seed_.fetch_add(1, std::memory_order_relaxed) * 0x2545f4914f6cdd1d;
    if (name_ == "empty") return std::make_unique<EmptyCall>(bench_stubs_[channel].get());
    grpc::GenericStub* undecoded = generic_stubs_.empty() ? nullptr : generic_stubs_[channel].get();
    if (name_ == "get_article") {
      return std::make_unique<GetArticleCall>(content_stubs_[channel].get(), undecoded, workload_,
                                              seed);
    }
    if (name_ == "read_article") {
      return std::make_unique<ReadArticleCall>(content_stubs_[channel].get(), undecoded, workload_,
                                               seed);
    }
    if (name_ == "list_articles") {
      return std::make_unique<ListArticlesCall>(content_stubs_[channel].get(), undecoded,
                                                page_size_, list_tags_, seed);
    }
    if (name_ == "record_read") {
      return std::make_unique<RecordReadCall>(analytics_stubs_[channel].get(), workload_, seed);
    }
    return std::make_unique<BatchRecordReadsCall>(analytics_stubs_[channel].get(), workload_, seed,
                                                  batch_size_);
  }

  // Items a successful call carries: reads per batch, articles per page, else 1.
  int items_per_call() const {
    if (name_ == "batch_record_reads") return batch_size_;
    if (name_ == "list_articles") return page_size_;
    return 1;
  }

 private:
  Scenario(std::string name, Workload* workload, int batch_size, int page_size, bool list_tags,
           uint64_t seed)
      : name_(std::move(name)),
        workload_(workload),
        batch_size_(batch_size),
        page_size_(page_size),
        list_tags_(list_tags),
        next_seed_(seed) {}

  std::string name_;
  Workload* workload_;
  int batch_size_;
  int page_size_;
  bool list_tags_;
  // Each call slot's generator is seeded with the next of these (times an odd constant).
  std::atomic<uint64_t> next_seed_;
  std::vector<std::unique_ptr<v1::BenchService::Stub>> bench_stubs_;
  std::vector<std::unique_ptr<content_v1::ContentService::Stub>> content_stubs_;
  std::vector<std::unique_ptr<analytics_v1::AnalyticsService::Stub>> analytics_stubs_;
  // One per channel, unless --decode.
  std::vector<std::unique_ptr<grpc::GenericStub>> generic_stubs_;
};

// Failures after which a read may or may not have been counted.
bool OutcomeUnknown(grpc::StatusCode code) {
  return code == grpc::StatusCode::DEADLINE_EXCEEDED || code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::CANCELLED || code == grpc::StatusCode::UNKNOWN ||
         code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::ABORTED;
}

std::string CodeName(int code) {
  return std::string(newsroom::StatusCodeName(static_cast<grpc::StatusCode>(code)));
}

// Everything measured in one run; completions from any gRPC thread add to it.
class Recorder final {
 public:
  // Calls completing inside [start, end) (steady clock, ns) are measured.
  void SetWindow(int64_t start, int64_t end) {
    window_start_ = start;
    window_end_ = end;
  }

  void Record(int64_t intended_start, int64_t end, const grpc::Status& status, const Call& call) {
    const int code = static_cast<int>(status.error_code());
    if (status.ok()) {
      acknowledged_reads_.fetch_add(call.reads(), std::memory_order_relaxed);
      if (call.reads() > 0 && call.queued()) queued_.fetch_add(1, std::memory_order_relaxed);
    } else if (OutcomeUnknown(status.error_code())) {
      unknown_reads_.fetch_add(call.reads(), std::memory_order_relaxed);
    }
    if (end < window_start_ || end >= window_end_) return;
    histogram_.Record(static_cast<uint64_t>(std::max<int64_t>(0, end - intended_start)));
    codes_[std::min(code, 16)].fetch_add(1, std::memory_order_relaxed);
    if (!status.ok() && first_error_logged_.exchange(true) == false) {
      std::fprintf(stderr, "load_generator: first error: %s: %s\n", CodeName(code).c_str(),
                   status.error_message().c_str());
    }
  }

  void MissedSend() { missed_sends_.fetch_add(1, std::memory_order_relaxed); }

  v1::RunResult Result(int items_per_call) const {
    v1::RunResult result;
    const double seconds = static_cast<double>(window_end_ - window_start_) / 1e9;
    int64_t calls = 0;
    for (int code = 0; code < 17; ++code) {
      const int64_t n = codes_[code].load(std::memory_order_relaxed);
      calls += n;
      if (code != 0 && n > 0) (*result.mutable_errors())[CodeName(code)] = n;
    }
    const int64_t ok = codes_[0].load(std::memory_order_relaxed);
    result.set_calls(calls);
    result.set_ok_calls(ok);
    result.set_qps(static_cast<double>(ok) / seconds);
    result.set_items_per_call(items_per_call);
    result.set_items_per_second(static_cast<double>(ok) * items_per_call / seconds);
    v1::LatencySummary* latency = result.mutable_latency();
    latency->set_p50_us(histogram_.Quantile(0.5) / 1e3);
    latency->set_p90_us(histogram_.Quantile(0.9) / 1e3);
    latency->set_p99_us(histogram_.Quantile(0.99) / 1e3);
    latency->set_p999_us(histogram_.Quantile(0.999) / 1e3);
    latency->set_max_us(static_cast<double>(histogram_.max()) / 1e3);
    latency->set_mean_us(histogram_.mean() / 1e3);
    result.set_acknowledged_reads(acknowledged_reads_.load());
    result.set_reads_with_unknown_outcome(unknown_reads_.load());
    result.set_reads_queued(queued_.load());
    result.set_missed_sends(missed_sends_.load());
    return result;
  }

 private:
  int64_t window_start_ = INT64_MAX;
  int64_t window_end_ = INT64_MAX;
  LatencyHistogram histogram_;
  std::atomic<int64_t> codes_[17] = {};
  std::atomic<int64_t> acknowledged_reads_{0};
  std::atomic<int64_t> unknown_reads_{0};
  std::atomic<int64_t> queued_{0};
  std::atomic<int64_t> missed_sends_{0};
  std::atomic<bool> first_error_logged_{false};
};

// The CPU time this process and the watched ones spend in the measured window: a thread of its own
// samples them when the window opens and when it closes, whichever loop drives the calls.
class CpuWindow final {
 public:
  explicit CpuWindow(std::vector<WatchedProcess> watched) : watched_(std::move(watched)) {}
  CpuWindow(const CpuWindow&) = delete;
  CpuWindow& operator=(const CpuWindow&) = delete;
  ~CpuWindow() {
    if (thread_.joinable()) thread_.join();
  }

  // Starts sampling at `window_start` and `window_end` (steady clock, ns).
  void Start(int64_t window_start, int64_t window_end) {
    thread_ = std::thread([this, window_start, window_end] {
      SleepUntil(window_start);
      const Sample start = Take();
      SleepUntil(window_end);
      const Sample end = Take();
      for (const auto& [name, nanos] : end) {
        auto before = start.find(name);
        if (before != start.end()) used_[name] = nanos - before->second;
      }
    });
  }

  // The CPU time each process used in the window, in ns, once the window has closed; a process
  // that could not be read at both ends (it exited, say) is left out.
  const std::map<std::string, int64_t>& Used() {
    if (thread_.joinable()) thread_.join();
    return used_;
  }

 private:
  using Sample = std::map<std::string, int64_t>;

  static void SleepUntil(int64_t when) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::max<int64_t>(0, when - NowNanos())));
  }

  Sample Take() const {
    Sample sample{{"load_generator", OwnCpuNanos()}};
    for (const WatchedProcess& process : watched_) {
      if (absl::StatusOr<int64_t> nanos = ProcessCpuNanos(process.pid); nanos.ok()) {
        sample[process.name] = *nanos;
      }
    }
    return sample;
  }

  const std::vector<WatchedProcess> watched_;
  std::thread thread_;
  std::map<std::string, int64_t> used_;
};

struct RunOptions {
  int channels;
  int inflight;
  double rate;
  int max_outstanding;
  absl::Duration warmup;
  absl::Duration duration;
  absl::Duration deadline;
};

// Drives calls and waits until every call it started has completed.
class Driver final {
 public:
  Driver(Scenario* scenario, Recorder* recorder, const RunOptions& options)
      : scenario_(scenario), recorder_(recorder), options_(options) {}

  // One call, waited for, before any load: a scenario whose requests fail is a setup error.
  grpc::Status Probe() {
    std::unique_ptr<Call> call = scenario_->NewCall(0);
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status result;
    absl::Notification done;
    const int64_t start = NowNanos();
    call->Start(&context, [&](grpc::Status status) {
      result = std::move(status);
      done.Notify();
    });
    done.WaitForNotification();
    recorder_->Record(start, NowNanos(), result, *call);
    return result;
  }

  // Runs the load; `cpu` starts sampling when the measured window is known.
  void Run(CpuWindow& cpu) {
    const int64_t start = NowNanos();
    const int64_t window_start = start + absl::ToInt64Nanoseconds(options_.warmup);
    const int64_t window_end = window_start + absl::ToInt64Nanoseconds(options_.duration);
    recorder_->SetWindow(window_start, window_end);
    cpu.Start(window_start, window_end);
    if (options_.rate > 0) {
      RunOpenLoop(start, window_end);
    } else {
      RunClosedLoop(window_end);
    }
    // Every call must end before its Call and the channels go away.
    while (outstanding_.load(std::memory_order_acquire) > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

 private:
  // One closed-loop call slot: a call kept in flight, restarted on each completion.
  struct Slot {
    std::unique_ptr<Call> call;
    std::unique_ptr<grpc::ClientContext> context;
    int64_t start = 0;
  };

  std::chrono::system_clock::time_point Deadline() const {
    return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(options_.deadline);
  }

  void RunClosedLoop(int64_t end) {
    std::vector<std::unique_ptr<Slot>> slots;
    for (int channel = 0; channel < options_.channels; ++channel) {
      for (int i = 0; i < options_.inflight; ++i) {
        slots.push_back(std::make_unique<Slot>(Slot{.call = scenario_->NewCall(channel)}));
      }
    }
    stop_at_ = end;
    outstanding_.store(static_cast<int64_t>(slots.size()));
    for (auto& slot : slots) StartSlot(slot.get());
    std::this_thread::sleep_for(std::chrono::nanoseconds(std::max<int64_t>(0, end - NowNanos())));
    while (outstanding_.load(std::memory_order_acquire) > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  void StartSlot(Slot* slot) {
    slot->context = std::make_unique<grpc::ClientContext>();
    slot->context->set_deadline(Deadline());
    slot->start = NowNanos();
    slot->call->Start(slot->context.get(), [this, slot](grpc::Status status) {
      const int64_t now = NowNanos();
      recorder_->Record(slot->start, now, status, *slot->call);
      if (now >= stop_at_) {
        outstanding_.fetch_sub(1, std::memory_order_release);
        return;
      }
      StartSlot(slot);
    });
  }

  // An open-loop call: made for one send and deleted when it completes.
  struct OneShot {
    std::unique_ptr<Call> call;
    grpc::ClientContext context;
    int64_t intended = 0;
  };

  void RunOpenLoop(int64_t start, int64_t end) {
    const double interval = 1e9 / options_.rate;
    int channel = 0;
    for (int64_t i = 0;; ++i) {
      const int64_t intended = start + static_cast<int64_t>(static_cast<double>(i) * interval);
      if (intended >= end) break;
      const int64_t now = NowNanos();
      if (intended > now) std::this_thread::sleep_for(std::chrono::nanoseconds(intended - now));
      if (outstanding_.load(std::memory_order_relaxed) >= options_.max_outstanding) {
        if (intended >= start + absl::ToInt64Nanoseconds(options_.warmup)) recorder_->MissedSend();
        continue;
      }
      auto* shot = new OneShot{.call = scenario_->NewCall(channel)};
      channel = (channel + 1) % options_.channels;
      shot->intended = intended;
      shot->context.set_deadline(Deadline());
      outstanding_.fetch_add(1, std::memory_order_relaxed);
      shot->call->Start(&shot->context, [this, shot](grpc::Status status) {
        recorder_->Record(shot->intended, NowNanos(), status, *shot->call);
        delete shot;
        outstanding_.fetch_sub(1, std::memory_order_release);
      });
    }
  }

  Scenario* scenario_;
  Recorder* recorder_;
  RunOptions options_;
  int64_t stop_at_ = INT64_MAX;
  std::atomic<int64_t> outstanding_{0};
};

std::string Micros(double us) {
  return us >= 10000 ? absl::StrFormat("%.1fms", us / 1000) : absl::StrFormat("%.0fus", us);
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "load_generator: %s\n", message.c_str());
  return 1;
}

int Run() {
  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string scenario_name = absl::GetFlag(FLAGS_scenario);
  const RunOptions options{
      .channels = absl::GetFlag(FLAGS_channels),
      .inflight = absl::GetFlag(FLAGS_inflight),
      .rate = absl::GetFlag(FLAGS_rate),
      .max_outstanding = absl::GetFlag(FLAGS_max_outstanding),
      .warmup = absl::GetFlag(FLAGS_warmup),
      .duration = absl::GetFlag(FLAGS_duration),
      .deadline = absl::GetFlag(FLAGS_deadline),
  };
  if (options.channels < 1) return Fail("--channels: must be at least 1");
  if (options.inflight < 1) return Fail("--inflight: must be at least 1");
  if (options.rate < 0) return Fail("--rate: must not be negative");
  // Below 1 every open-loop send would be counted as missed.
  if (options.max_outstanding < 1) return Fail("--max_outstanding: must be at least 1");
  if (options.duration <= absl::ZeroDuration()) return Fail("--duration: must be positive");
  if (options.warmup < absl::ZeroDuration()) return Fail("--warmup: must not be negative");
  if (absl::GetFlag(FLAGS_articles) < 1) return Fail("--articles: must be at least 1");
  // Not NaN either. Above 4 the first article takes over 92% of the reads: nothing left to vary.
  const double article_skew = absl::GetFlag(FLAGS_article_skew);
  if (!(article_skew >= 0 && article_skew <= 4)) return Fail("--article_skew: must be 0 to 4");
  const int batch_size = absl::GetFlag(FLAGS_batch_size);
  if (batch_size < 1 || batch_size > 1000) return Fail("--batch_size: must be 1 to 1000");
  absl::StatusOr<std::vector<WatchedProcess>> watched =
      ParseWatchedProcesses(absl::GetFlag(FLAGS_cpu_of));
  if (!watched.ok()) return Fail(std::string(watched.status().message()));
  const double edits_per_second = absl::GetFlag(FLAGS_edits_per_second);
  if (!(edits_per_second >= 0 && edits_per_second <= 10000)) {
    return Fail("--edits_per_second: must be 0 to 10000");
  }
  std::string editor_token;
  if (edits_per_second > 0) {
    std::ifstream in(absl::GetFlag(FLAGS_editor_token_file));
    if (!std::getline(in, editor_token) || editor_token.empty()) {
      return Fail("--edits_per_second needs --editor_token_file, a file holding the editor token");
    }
  }

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < options.channels; ++i) {
    grpc::ChannelArguments args;
    // A channel of its own per index: without these, channels to one target share a connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("newsroom.bench.channel_index", i);
    channels.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
    if (!channels.back()->WaitForConnected(std::chrono::system_clock::now() +
                                           std::chrono::seconds(5))) {
      return Fail(absl::StrCat("cannot connect to ", target));
    }
  }

  Workload workload(absl::GetFlag(FLAGS_articles), article_skew, absl::GetFlag(FLAGS_readers));
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (seed == 0) seed = (uint64_t{std::random_device()()} << 32 | std::random_device()()) | 1;
  absl::StatusOr<std::unique_ptr<Scenario>> scenario = Scenario::Create(
      scenario_name, channels, &workload, batch_size, absl::GetFlag(FLAGS_page_size),
      absl::GetFlag(FLAGS_list_tags), absl::GetFlag(FLAGS_decode), seed);
  if (!scenario.ok()) return Fail(std::string(scenario.status().message()));

  Recorder recorder;
  Driver driver(scenario->get(), &recorder, options);
  if (grpc::Status probe = driver.Probe(); !probe.ok()) {
    return Fail(absl::StrCat("scenario ", scenario_name, ": the first call failed with ",
                             CodeName(probe.error_code()), ": ", probe.error_message(),
                             " (is the catalogue seeded with --articles articles?)"));
  }
  // The editor runs over the whole load, warm-up included, so the measured window is all edited.
  std::optional<ArticleEditor> editor;
  if (edits_per_second > 0) {
    const std::string edit_target = absl::GetFlag(FLAGS_edit_target);
    editor.emplace(grpc::CreateChannel(edit_target.empty() ? target : edit_target,
                                       grpc::InsecureChannelCredentials()),
                   editor_token, absl::GetFlag(FLAGS_articles), edits_per_second, seed);
  }
  CpuWindow cpu(*std::move(watched));
  driver.Run(cpu);
  int64_t edits = 0, failed_edits = 0;
  if (editor) {
    editor->Stop();
    edits = editor->edits();
    failed_edits = editor->failed_edits();
  }

  v1::RunResult result = recorder.Result((*scenario)->items_per_call());
  if (result.ok_calls() > 0) {
    for (const auto& [name, nanos] : cpu.Used()) {
      (*result.mutable_cpu_us_per_call())[name] =
          static_cast<double>(nanos) / 1e3 / static_cast<double>(result.ok_calls());
    }
  }
  result.set_label(absl::GetFlag(FLAGS_label));
  result.set_round(absl::GetFlag(FLAGS_round));
  result.set_seed(seed);
  result.set_responses_decoded(absl::GetFlag(FLAGS_decode));
  result.set_scenario(scenario_name);
  result.set_target(target);
  result.set_mode(options.rate > 0 ? "open" : "closed");
  result.set_channels(options.channels);
  result.set_inflight_per_channel(options.rate > 0 ? 0 : options.inflight);
  result.set_rate(options.rate);
  result.set_warmup_seconds(absl::ToDoubleSeconds(options.warmup));
  result.set_duration_seconds(absl::ToDoubleSeconds(options.duration));
  result.set_edits(edits);
  result.set_failed_edits(failed_edits);

  if (absl::GetFlag(FLAGS_header)) {
    std::printf("%-20s %-10s %-12s %10s %10s %9s %9s %9s %9s  %s\n", "scenario", "label", "load",
                "calls/s", "items/s", "p50", "p90", "p99", "p99.9", "errors");
  }
  std::string errors;
  for (const auto& [code, count] : result.errors()) absl::StrAppend(&errors, code, "=", count, " ");
  const std::string load = options.rate > 0
                               ? absl::StrFormat("%.0f/s", options.rate)
                               : absl::StrFormat("%dx%d", options.channels, options.inflight);
  std::printf("%-20s %-10s %-12s %10.0f %10.0f %9s %9s %9s %9s  %s\n", scenario_name.c_str(),
              result.label().c_str(), load.c_str(), result.qps(), result.items_per_second(),
              Micros(result.latency().p50_us()).c_str(), Micros(result.latency().p90_us()).c_str(),
              Micros(result.latency().p99_us()).c_str(), Micros(result.latency().p999_us()).c_str(),
              errors.empty() ? "-" : errors.c_str());
  if (edits_per_second > 0) {
    std::printf("  edits: %lld made, %lld failed\n", static_cast<long long>(edits),
                static_cast<long long>(failed_edits));
  }
  if (result.missed_sends() > 0) {
    std::printf("  open loop fell behind: %lld sends missed (over --max_outstanding)\n",
                static_cast<long long>(result.missed_sends()));
  }
  std::fflush(stdout);

  if (const std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    google::protobuf::util::JsonPrintOptions json_options;
    json_options.add_whitespace = true;
    json_options.always_print_primitive_fields = true;
    json_options.preserve_proto_field_names = true;
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(result, &json, json_options).ok()) {
      return Fail("cannot encode the result as JSON");
    }
    std::ofstream out(path);
    out << json;
    if (!out.good()) return Fail(absl::StrCat("cannot write --json_out=", path));
  }
  return 0;
}

}  // namespace
}  // namespace newsroom::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "load_generator --target=HOST:PORT --scenario=NAME [--channels=4 --inflight=32 | "
      "--rate=N] [--warmup=2s --duration=8s] [--json_out=FILE]");
  absl::ParseCommandLine(argc, argv);
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles, which cost this client
  // about 4% of its CPU (perf: absl GraphCycles) and so took CPU from the servers it measures on
  // the same cores. The servers turn it off too (PrepareServerProcess).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return newsroom::bench::Run();
}
