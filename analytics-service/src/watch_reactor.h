#pragma once

#include <grpcpp/support/server_callback.h>

#include "analytics-service/src/change_feed_hub.h"
#include "analytics-service/src/watch_hub.h"
#include "newsroom/analytics/v1/analytics_service.pb.h"

namespace newsroom::analytics {

// Starts serving one WatchReadStats call from `hub` (not owned; it must outlive the server) and
// returns its reactor, which frees itself when the call is done. No thread waits on the stream:
// the reactor writes when the hub wakes it, one message at a time, each holding whatever the hub
// coalesced for it meanwhile.
grpc::ServerWriteReactor<v1::WatchReadStatsResponse>* StartWatchReadStats(
    WatchHub* hub, const v1::WatchReadStatsRequest& request);

// Starts serving one WatchReadStatsChanges call from `hub`, likewise.
grpc::ServerWriteReactor<v1::WatchReadStatsChangesResponse>* StartWatchReadStatsChanges(
    ChangeFeedHub* hub);

}  // namespace newsroom::analytics
