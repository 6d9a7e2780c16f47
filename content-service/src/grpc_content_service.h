#pragma once

#include <grpcpp/support/byte_buffer.h>

#include "common/src/call_limiter.h"
#include "common/src/server_call.h"
#include "content-service/src/content_service.h"
#include "content-service/src/editor_auth.h"
#include "content-service/src/watch_relay.h"
#include "newsroom/content/v1/content_service.grpc.pb.h"

namespace newsroom::content {

// The callback service with GetArticle, ReadArticle, ListArticles and ListMostReadArticles as raw
// methods. The first three answer with the stored articles' bytes, each with its read_stats field
// after it (see StoredArticle), so that gRPC neither copies nor serializes the articles on every
// page view or listing. All four hand gRPC slices that hold the grant of, or hold on, their
// response's bytes (docs/operations.md, "Overload") until gRPC drops them, and observe their own
// calls (common/src/server_call.h), sparing the busiest calls gRPC's interceptor path.
using ContentCallbackService = content_v1::ContentService::WithRawCallbackMethod_GetArticle<
    content_v1::ContentService::WithRawCallbackMethod_ReadArticle<
        content_v1::ContentService::WithRawCallbackMethod_ListArticles<
            content_v1::ContentService::WithRawCallbackMethod_ListMostReadArticles<
                content_v1::ContentService::CallbackService>>>>;

// The wire-format bytes of the ListArticlesResponse that `page` stands for, exactly what
// serializing that message gives: each article as field 1 (its stored bytes, then its read_stats
// field when it has stats; see ReadStatsField), then next_page_token as field 2 when not empty.
// The stored bytes of an article of 1 KiB or more are not copied: their slice holds a reference to
// them, dropped when gRPC is done with the slice. The rest (field headers, stats, token) is copied.
// `page` is consumed, so nothing of it outlives this call but what the slices hold. The page's
// grant of response bytes goes with the last slice, the last that gRPC sends and drops.
[[nodiscard]] grpc::ByteBuffer ListArticlesResponseBytes(ArticlePageWithStats page);

// The wire-format bytes of the Article that `served` stands for (GetArticle, ReadArticle): its
// stored bytes, not copied, in a slice that also holds the hold on the article's bytes (counted
// once in the response budget) until gRPC drops it, then its read_stats field when it has stats.
[[nodiscard]] grpc::ByteBuffer ArticleResponseBytes(ArticleWithStats served);

// The serialized ListMostReadArticlesResponse of `page`, in one slice that also holds the page's
// grant of response bytes until gRPC drops it.
[[nodiscard]] grpc::ByteBuffer MostReadPageBytes(MostReadPage page);

// The gRPC edge of ContentService, on the callback API: each handler converts the call's deadline,
// hands the request to the logic and finishes the reactor when the logic answers. No per-call
// threads; no logic here. The write RPCs first pass the call's `authorization` header to
// EditorAuth.
class GrpcContentService final : public ContentCallbackService {
 public:
  // `service`, `editor_auth`, `limiter` and `watches` are not owned and must outlive this object.
  // The limiter bounds the calls that wait on analytics-service (the reads); writes run inline;
  // WatchArticleReadStats streams are bounded by `watches`. The raw methods register with
  // `observer`, which must be the server's (GrpcServerOptions::call_observer).
  GrpcContentService(ContentService* service, const EditorAuth* editor_auth, CallLimiter* limiter,
                     WatchRelays* watches, CallObserver* observer);

  // Raw: the request is a GetArticleRequest, the response an Article.
  grpc::ServerUnaryReactor* GetArticle(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  // Raw: the request is a ReadArticleRequest, the response an Article.
  grpc::ServerUnaryReactor* ReadArticle(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request,
                                        grpc::ByteBuffer* response) override;
  // Raw: the request is a ListArticlesRequest, the response a ListArticlesResponse.
  grpc::ServerUnaryReactor* ListArticles(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* CreateArticle(grpc::CallbackServerContext* context,
                                          const content_v1::CreateArticleRequest* request,
                                          content_v1::Article* response) override;
  grpc::ServerUnaryReactor* UpdateArticle(grpc::CallbackServerContext* context,
                                          const content_v1::UpdateArticleRequest* request,
                                          content_v1::Article* response) override;
  grpc::ServerUnaryReactor* DeleteArticle(grpc::CallbackServerContext* context,
                                          const content_v1::DeleteArticleRequest* request,
                                          google::protobuf::Empty* response) override;
  // Raw: the request is a ListMostReadArticlesRequest, the response a
  // ListMostReadArticlesResponse.
  grpc::ServerUnaryReactor* ListMostReadArticles(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) override;
  grpc::ServerWriteReactor<content_v1::WatchArticleReadStatsResponse>* WatchArticleReadStats(
      grpc::CallbackServerContext* context,
      const content_v1::WatchArticleReadStatsRequest* request) override;

 private:
  // OK when the call carries the editor token; see EditorAuth::Authorize.
  absl::Status AuthorizeEditor(const grpc::CallbackServerContext* context) const;

  // A raw method's call: parses `request`, admits it, and has `logic` answer it into `response`
  // as the answer's bytes (see ToByteBuffer in the .cc).
  template <typename Request, typename Answer>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context,
                                  const ObservedMethod& method, const grpc::ByteBuffer& request,
                                  grpc::ByteBuffer* response,
                                  void (ContentService::*logic)(const Request&, absl::Time,
                                                                const TraceContext&,
                                                                ContentService::Done<Answer>));

  ContentService* const service_;
  const EditorAuth* const editor_auth_;
  const ObservedMethod& get_article_;
  const ObservedMethod& read_article_;
  const ObservedMethod& list_articles_;
  const ObservedMethod& list_most_read_articles_;
  CallLimiter* const limiter_;
  WatchRelays* const watches_;
};

}  // namespace newsroom::content
