#include "analytics-service/src/watch_reactor.h"

#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "analytics-service/src/analytics_service.h"
#include "common/src/grpc_status.h"
#include "common/src/validation.h"

namespace newsroom::analytics {
namespace {

// One WatchReadStats stream. Owned by itself (`self_`) until gRPC calls OnDone; the hub's wake
// holds only a weak reference, so a wake racing the end of the call finds it gone or finished.
//
// Exactly one thread "drives" at a time: the one that started the call, the one the hub woke, or
// the one that got OnWriteDone. Finish is called once, by the driver, or by OnCancel when no one
// drives (`driving_` false); no lock is held across StartWrite or Finish, whose reactions gRPC may
// run inline.
class WatchReactor final : public grpc::ServerWriteReactor<v1::WatchReadStatsResponse>,
                           public std::enable_shared_from_this<WatchReactor> {
 public:
  explicit WatchReactor(WatchHub* hub) : hub_(hub) {}

  void Start(const v1::WatchReadStatsRequest& request) {
    self_ = shared_from_this();
    absl::StatusOr<std::vector<std::string>> ids = WatchedArticleIds(request);
    if (!ids.ok()) return FinishFirst(ids.status());
    std::weak_ptr<WatchReactor> weak = weak_from_this();
    absl::StatusOr<WatchHub::WatcherId> id = hub_->Add(*ids, [weak] {
      if (auto self = weak.lock()) self->Drive();
    });
    if (!id.ok()) return FinishFirst(id.status());
    {
      absl::MutexLock lock(&mu_);
      id_ = *id;
      driving_ = true;
    }
    Drive();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      absl::MutexLock lock(&mu_);
      if (!finish_.has_value()) finish_ = grpc::Status(grpc::StatusCode::CANCELLED, "stream ended");
    }
    Drive();
  }

  void OnCancel() override {
    grpc::Status status;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      if (!finish_.has_value()) finish_ = grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
      if (driving_) return;  // the driver finishes at its next step
      finished_ = true;
      status = *finish_;
    }
    Finish(status);
  }

  void OnDone() override {
    WatchHub::WatcherId id;
    {
      absl::MutexLock lock(&mu_);
      id = id_;
    }
    if (id != 0) hub_->Remove(id);
    self_.reset();  // may destroy this object
  }

 private:
  // Finishes a call refused before it reached the hub.
  void FinishFirst(const absl::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      finished_ = true;
    }
    Finish(ToGrpcStatus(status));
  }

  // One step of the driver: finish if asked to, else write the hub's next batch, else go idle
  // until the hub wakes this reactor again.
  void Drive() {
    WatchHub::WatcherId id;
    {
      absl::MutexLock lock(&mu_);
      id = id_;
    }
    WatchHub::Batch batch = hub_->Next(id);
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      if (batch.finish.has_value() && !finish_.has_value()) finish_ = ToGrpcStatus(*batch.finish);
      if (finish_.has_value()) {
        finished_ = true;
        finish = *finish_;
      } else if (batch.updates.empty()) {
        driving_ = false;
        return;
      } else {
        driving_ = true;
        response_.Clear();
        for (const WatchHub::Update& update : batch.updates) {
          v1::ReadStats* stats = response_.add_stats();
          stats->set_article(absl::StrCat(kArticleNamePrefix, update.article_id));
          stats->set_reads(update.counts.reads);
          stats->set_unique_readers(update.counts.unique_readers);
        }
      }
    }
    if (finish.has_value()) return Finish(*finish);
    StartWrite(&response_);
  }

  WatchHub* const hub_;
  std::shared_ptr<WatchReactor> self_;
  absl::Mutex mu_;
  WatchHub::WatcherId id_ ABSL_GUARDED_BY(mu_) = 0;
  bool driving_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
  v1::WatchReadStatsResponse response_;  // the message being written; the driver's alone
};

}  // namespace

grpc::ServerWriteReactor<v1::WatchReadStatsResponse>* StartWatchReadStats(
    WatchHub* hub, const v1::WatchReadStatsRequest& request) {
  auto reactor = std::make_shared<WatchReactor>(hub);
  reactor->Start(request);
  return reactor.get();
}

}  // namespace newsroom::analytics
