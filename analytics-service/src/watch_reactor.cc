#include "analytics-service/src/watch_reactor.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "analytics-service/src/analytics_service.h"
#include "analytics-service/src/hub_write_reactor.h"
#include "common/src/validation.h"

namespace newsroom::analytics {
namespace {

void AddStats(const std::vector<WatchHub::Update>& updates,
              google::protobuf::RepeatedPtrField<v1::ReadStats>* out) {
  out->Reserve(static_cast<int>(updates.size()));
  for (const WatchHub::Update& update : updates) {
    v1::ReadStats* stats = out->Add();
    stats->set_article(absl::StrCat(kArticleNamePrefix, update.article_id));
    stats->set_reads(update.counts.reads);
    stats->set_unique_readers(update.counts.unique_readers);
  }
}

void FillWatchResponse(const WatchHub::Batch& batch, v1::WatchReadStatsResponse* response) {
  AddStats(batch.updates, response->mutable_stats());
}

void FillChangesResponse(const ChangeFeedHub::Batch& batch,
                         v1::WatchReadStatsChangesResponse* response) {
  AddStats(batch.updates, response->mutable_stats());
}

}  // namespace

grpc::ServerWriteReactor<v1::WatchReadStatsResponse>* StartWatchReadStats(
    WatchHub* hub, const v1::WatchReadStatsRequest& request) {
  return HubWriteReactor<WatchHub, v1::WatchReadStatsResponse>::Start(
      hub, FillWatchResponse,
      [&](std::function<void()> wake) -> absl::StatusOr<WatchHub::WatcherId> {
        absl::StatusOr<std::vector<std::string>> ids = WatchedArticleIds(request);
        if (!ids.ok()) return ids.status();
        return hub->Add(*ids, std::move(wake));
      });
}

grpc::ServerWriteReactor<v1::WatchReadStatsChangesResponse>* StartWatchReadStatsChanges(
    ChangeFeedHub* hub) {
  return HubWriteReactor<ChangeFeedHub, v1::WatchReadStatsChangesResponse>::Start(
      hub, FillChangesResponse,
      [&](std::function<void()> wake) { return hub->Add(std::move(wake)); });
}

}  // namespace newsroom::analytics
