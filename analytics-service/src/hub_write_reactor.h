#pragma once

#include <grpcpp/support/server_callback.h>

#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/src/grpc_status.h"

namespace newsroom::analytics {

// A server stream fed by a hub (WatchHub, ChangeFeedHub): the hub keeps what each stream has not
// been sent yet, and the reactor writes it when the hub wakes it, one message at a time, each
// holding whatever the hub coalesced meanwhile. No thread waits on the stream.
//
// A Hub provides `Id`, `Batch` (with `std::optional<absl::Status> finish` and `bool
// has_message() const`), `Batch Next(Id)` and `void Remove(Id)`; `fill` turns a batch with a
// message into the response to write.
//
// Owned by itself (`self_`) until gRPC calls OnDone; the hub's wake holds only a weak reference,
// so a wake racing the end of the call finds it gone or finished. Exactly one thread "drives" at a
// time: the one that started the call, the one the hub woke, or the one that got OnWriteDone.
// Finish is called once, by the driver, or by OnCancel when no one drives (`driving_` false); no
// lock is held across StartWrite or Finish, whose reactions gRPC may run inline.
template <typename Hub, typename Response>
class HubWriteReactor final : public grpc::ServerWriteReactor<Response>,
                              public std::enable_shared_from_this<HubWriteReactor<Hub, Response>> {
 public:
  using Fill = void (*)(const typename Hub::Batch&, Response*);

  // Starts serving a call: registers it with `hub` through `add` (given the wake) and returns the
  // reactor, which frees itself when the call is done. When `add` fails, the call ends with its
  // error. `hub` is not owned and must outlive the server.
  static grpc::ServerWriteReactor<Response>* Start(
      Hub* hub, Fill fill,
      absl::FunctionRef<absl::StatusOr<typename Hub::Id>(std::function<void()> wake)> add) {
    auto reactor = std::shared_ptr<HubWriteReactor>(new HubWriteReactor(hub, fill));
    reactor->self_ = reactor;
    std::weak_ptr<HubWriteReactor> weak = reactor;
    absl::StatusOr<typename Hub::Id> id = add([weak] {
      if (auto self = weak.lock()) self->Drive();
    });
    if (!id.ok()) {
      reactor->FinishFirst(id.status());
    } else {
      {
        absl::MutexLock lock(&reactor->mu_);
        reactor->id_ = *id;
        reactor->driving_ = true;
      }
      reactor->Drive();
    }
    return reactor.get();
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
    this->Finish(status);
  }

  void OnDone() override {
    std::optional<typename Hub::Id> id;
    {
      absl::MutexLock lock(&mu_);
      id = id_;
    }
    if (id.has_value()) hub_->Remove(*id);
    self_.reset();  // may destroy this object
  }

 private:
  HubWriteReactor(Hub* hub, Fill fill) : hub_(hub), fill_(fill) {}

  // Finishes a call refused before it reached the hub.
  void FinishFirst(const absl::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      finished_ = true;
    }
    this->Finish(ToGrpcStatus(status));
  }

  // One step of the driver: finish if asked to, else write the hub's next message, else go idle
  // until the hub wakes this reactor again.
  void Drive() {
    std::optional<typename Hub::Id> id;
    {
      absl::MutexLock lock(&mu_);
      id = id_;
    }
    if (!id.has_value()) return;
    typename Hub::Batch batch = hub_->Next(*id);
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      if (batch.finish.has_value() && !finish_.has_value()) finish_ = ToGrpcStatus(*batch.finish);
      if (finish_.has_value()) {
        finished_ = true;
        finish = *finish_;
      } else if (!batch.has_message()) {
        driving_ = false;
        return;
      } else {
        driving_ = true;
        response_.Clear();
        fill_(batch, &response_);
      }
    }
    if (finish.has_value()) return this->Finish(*finish);
    this->StartWrite(&response_);
  }

  Hub* const hub_;
  const Fill fill_;
  std::shared_ptr<HubWriteReactor> self_;
  absl::Mutex mu_;
  std::optional<typename Hub::Id> id_ ABSL_GUARDED_BY(mu_);
  bool driving_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_ ABSL_GUARDED_BY(mu_);
  Response response_;  // the message being written; the driver's alone
};

}  // namespace newsroom::analytics
