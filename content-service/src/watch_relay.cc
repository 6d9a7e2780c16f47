#include "content-service/src/watch_relay.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/src/grpc_status.h"

namespace newsroom::content {
namespace {

// How an upstream stream's end is reported to the caller: short, actionable, and free of gRPC's
// transport details.
grpc::Status CallerStatus(const absl::Status& upstream) {
  switch (upstream.code()) {
    case absl::StatusCode::kResourceExhausted:
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "analytics-service serves its limit of watches; retry with backoff");
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kUnimplemented:
      return grpc::Status(grpc::StatusCode::INTERNAL, "analytics-service refused the watch");
    default:
      // UNAVAILABLE (down, shutting down, connection recycled), DEADLINE_EXCEEDED, and an OK that
      // the API never sends: all mean "reconnect".
      return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "analytics-service is unavailable; retry with backoff");
  }
}

}  // namespace

// One WatchArticleReadStats call. Owned by itself (`self_`) until gRPC calls OnDone; the upstream's
// callbacks and WatchRelays::Close hold weak references. At most one write is in flight
// (`writing_`); what arrives meanwhile replaces the pending stats of its article. Finish is called
// once, when no write is in flight, after the pending stats are sent (unless the caller is gone).
// No lock is held across StartWrite, Finish or Cancel, whose reactions may run inline.
class WatchRelay final : public grpc::ServerWriteReactor<content_v1::WatchArticleReadStatsResponse>,
                         public std::enable_shared_from_this<WatchRelay> {
 public:
  WatchRelay(WatchRelays* owner, std::vector<std::string> names)
      : owner_(owner), names_(std::move(names)) {}

  void Begin(AnalyticsClient* analytics, const TraceContext& trace) {
    std::weak_ptr<WatchRelay> weak = weak_from_this();
    std::shared_ptr<AnalyticsClient::ReadStatsWatch> upstream =
        analytics->WatchReadStats(names_, trace,
                                  {.on_update =
                                       [weak](std::vector<analytics_v1::ReadStats> stats) {
                                         if (auto self = weak.lock())
                                           self->OnUpstream(std::move(stats));
                                       },
                                   .on_done =
                                       [weak](absl::Status status) {
                                         if (auto self = weak.lock())
                                           self->End(CallerStatus(status));
                                       }});
    bool ended;
    {
      absl::MutexLock lock(&mu_);
      upstream_ = upstream;
      ended = finish_.has_value();
    }
    if (ended) upstream->Cancel();  // the caller left (or Close ran) while it was opening
  }

  // Ends the call with `status` once what is pending is sent; cancels the upstream stream.
  void End(grpc::Status status) {
    std::shared_ptr<AnalyticsClient::ReadStatsWatch> upstream;
    {
      absl::MutexLock lock(&mu_);
      if (!finish_.has_value()) finish_ = std::move(status);
      upstream = upstream_;
    }
    if (upstream != nullptr) upstream->Cancel();
    Step();
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) caller_gone_ = true;
    }
    if (!ok) return End(grpc::Status(grpc::StatusCode::CANCELLED, "stream broken"));
    Step();
  }

  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      caller_gone_ = true;
    }
    End(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }

  void OnDone() override {
    std::shared_ptr<AnalyticsClient::ReadStatsWatch> upstream;
    {
      absl::MutexLock lock(&mu_);
      upstream = upstream_;
    }
    if (upstream != nullptr) upstream->Cancel();
    owner_->Remove(this);
    self_ = nullptr;  // may destroy this object
  }

  std::shared_ptr<WatchRelay> self_;

 private:
  void OnUpstream(std::vector<analytics_v1::ReadStats> stats) {
    {
      absl::MutexLock lock(&mu_);
      for (analytics_v1::ReadStats& entry : stats) {
        std::string article = entry.article();
        pending_[std::move(article)] = std::move(entry);
      }
    }
    Step();
  }

  // Writes what is pending, or finishes, when no write is in flight.
  void Step() {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || writing_) return;
      if (!pending_.empty() && !caller_gone_) {
        writing_ = true;
        response_.Clear();
        for (const std::string& name : names_) {
          auto it = pending_.find(name);
          if (it != pending_.end()) *response_.add_read_stats() = std::move(it->second);
        }
        pending_.clear();
      } else if (finish_.has_value()) {
        finished_ = true;
        finish = *finish_;
      } else {
        return;
      }
    }
    if (finish.has_value()) return Finish(*finish);
    StartWrite(&response_);
  }

  WatchRelays* const owner_;
  const std::vector<std::string> names_;  // request order, no duplicates
  absl::Mutex mu_;
  std::shared_ptr<AnalyticsClient::ReadStatsWatch> upstream_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, analytics_v1::ReadStats> pending_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool caller_gone_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
  content_v1::WatchArticleReadStatsResponse response_;  // written only while `writing_`
};

grpc::ServerWriteReactor<content_v1::WatchArticleReadStatsResponse>* WatchRelays::Start(
    const TraceContext& trace,
    absl::FunctionRef<absl::StatusOr<std::vector<std::string>>()> names) {
  // A refused call gets a reactor that only finishes.
  class Refused final : public grpc::ServerWriteReactor<content_v1::WatchArticleReadStatsResponse> {
   public:
    explicit Refused(const grpc::Status& status) { Finish(status); }
    void OnDone() override { delete this; }
  };
  {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      return new Refused(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                      "content-service is shutting down; reconnect"));
    }
    if (open_.size() + admitting_ >= static_cast<std::size_t>(max_watchers_)) {
      return new Refused(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                      absl::StrCat("server busy: ", max_watchers_,
                                                   " watches open at once; retry with backoff")));
    }
    ++admitting_;  // admitted before validation (which reads the store), as unary calls are
  }
  absl::StatusOr<std::vector<std::string>> validated = names();
  auto relay = validated.ok() ? std::make_shared<WatchRelay>(this, *std::move(validated)) : nullptr;
  {
    absl::MutexLock lock(&mu_);
    --admitting_;
    if (relay != nullptr && closed_) {
      validated = absl::UnavailableError("content-service is shutting down; reconnect");
      relay = nullptr;
    }
    if (relay != nullptr) {
      relay->self_ = relay;
      open_[relay.get()] = relay;
    }
  }
  if (relay == nullptr) return new Refused(ToGrpcStatus(validated.status()));
  relay->Begin(analytics_, trace);
  return relay.get();
}

void WatchRelays::Close(const absl::Status& status) {
  std::vector<std::shared_ptr<WatchRelay>> open;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (auto& [key, weak] : open_) {
      if (auto relay = weak.lock()) open.push_back(std::move(relay));
    }
  }
  for (auto& relay : open) relay->End(ToGrpcStatus(status));
}

void WatchRelays::Remove(const WatchRelay* relay) {
  absl::MutexLock lock(&mu_);
  open_.erase(relay);
}

std::size_t WatchRelays::open_count() const {
  absl::MutexLock lock(&mu_);
  return open_.size();
}

}  // namespace newsroom::content
