#include "content-service/src/grpc_content_service.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/src/grpc_status.h"
#include "common/src/raw_request.h"
#include "common/src/server_interceptor.h"
#include "common/src/unary_reactor.h"

namespace newsroom::content {
namespace {

absl::Time Deadline(const grpc::CallbackServerContext* context) {
  const auto deadline = context->deadline();
  // gRPC reports "no deadline" as the largest time point.
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

template <typename T>
grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context, absl::StatusOr<T> result,
                                    T* response) {
  auto* reactor = context->DefaultReactor();
  FinishInto(reactor, response)(std::move(result));
  return reactor;
}

// What a response's slice keeps until gRPC drops it, after sending it or giving up on the client:
// its bytes, and the grant of the response's bytes and hold on an article's shared bytes
// (docs/operations.md, "Overload"), so that they are returned when the memory is, however slowly
// the client reads.
template <typename Bytes>
struct HeldBytes {
  Bytes bytes;
  MemoryBudget::Grant grant;
  MemoryBudget::SharedHold shared;
};

absl::string_view View(const StoredArticle& article) { return article.bytes(); }
absl::string_view View(const std::string& bytes) { return bytes; }
absl::string_view View(const grpc::Slice& slice) {
  return {reinterpret_cast<const char*>(slice.begin()), slice.size()};
}

template <typename Bytes>
grpc::Slice HoldingSlice(Bytes bytes, MemoryBudget::Grant grant,
                         MemoryBudget::SharedHold shared = MemoryBudget::SharedHold()) {
  auto* held = new HeldBytes<Bytes>{std::move(bytes), std::move(grant), std::move(shared)};
  const absl::string_view view = View(held->bytes);
  // The bytes are immutable; gRPC only reads what it sends.
  return grpc::Slice(
      const_cast<char*>(view.data()), view.size(),
      [](void* p) { delete static_cast<HeldBytes<Bytes>*>(p); }, held);
}

// Below this, copying an article's bytes costs less than the two allocations of a slice that
// refers to them.
constexpr std::size_t kReferAtLeast = 1024;

// The key and length of a length-delimited field of `length` bytes, written by protobuf's own
// encoder.
void AppendFieldHeader(int field_number, std::size_t length, std::string* out) {
  using google::protobuf::internal::WireFormatLite;
  using google::protobuf::io::CodedOutputStream;
  std::uint8_t header[5 + 10];  // the longest varints of a tag (32 bits) and a length (64 bits)
  std::uint8_t* end = CodedOutputStream::WriteTagToArray(
      WireFormatLite::MakeTag(field_number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED), header);
  end = CodedOutputStream::WriteVarint64ToArray(length, end);
  out->append(reinterpret_cast<const char*>(header), static_cast<std::size_t>(end - header));
}

grpc::ByteBuffer ToByteBuffer(ArticleWithStats served) {
  return ArticleResponseBytes(std::move(served));
}

grpc::ByteBuffer ToByteBuffer(ArticlePageWithStats page) {
  return ListArticlesResponseBytes(std::move(page));
}

grpc::ByteBuffer ToByteBuffer(MostReadPage page) { return MostReadPageBytes(std::move(page)); }

// FinishInto for the raw methods: the answer becomes its response message's bytes (ToByteBuffer,
// whose slices hold the grant of, or hold on, those bytes until gRPC drops them), the call's end is
// recorded, and the permit is released once the call is finished.
template <typename T>
auto FinishRawInto(grpc::ServerUnaryReactor* reactor, grpc::ByteBuffer* response,
                   CallLimiter::Permit permit, ObservedCall call) {
  return [reactor, response, permit = std::move(permit), call](absl::StatusOr<T> result) mutable {
    if (result.ok()) {
      grpc::ByteBuffer bytes = ToByteBuffer(*std::move(result));
      response->Swap(&bytes);
    }
    const grpc::Status status = ToGrpcStatus(result.status());
    call.Finish(status);
    reactor->Finish(status);
    permit.Release();
  };
}

}  // namespace

grpc::ByteBuffer ArticleResponseBytes(ArticleWithStats served) {
  grpc::Slice slices[2] = {HoldingSlice(std::move(served.article), MemoryBudget::Grant(),
                                        std::move(served.article_bytes)),
                           grpc::Slice()};
  if (!served.read_stats) return grpc::ByteBuffer(slices, 1);
  slices[1] = grpc::Slice(ReadStatsField(*served.read_stats));
  return grpc::ByteBuffer(slices, 2);
}

grpc::ByteBuffer ListArticlesResponseBytes(ArticlePageWithStats page) {
  std::vector<grpc::Slice> slices;
  slices.reserve(2 * page.articles.size() + 1);
  std::string copied;  // bytes for the next copied slice
  const auto flush = [&] {
    if (copied.empty()) return;
    slices.emplace_back(copied);
    copied.clear();
  };
  for (ArticleWithStats& served : page.articles) {
    const absl::string_view article = served.article.bytes();
    const std::string stats =
        served.read_stats ? ReadStatsField(*std::move(served.read_stats)) : std::string();
    AppendFieldHeader(v1::ListArticlesResponse::kArticlesFieldNumber, article.size() + stats.size(),
                      &copied);
    if (article.size() >= kReferAtLeast) {
      flush();
      // Not a copy: the slice holds a reference to the article's bytes.
      slices.push_back(HoldingSlice(std::move(served.article), MemoryBudget::Grant()));
    } else {
      copied.append(article.data(), article.size());
    }
    copied += stats;
  }
  if (!page.next_page_token.empty()) {
    AppendFieldHeader(v1::ListArticlesResponse::kNextPageTokenFieldNumber,
                      page.next_page_token.size(), &copied);
    copied += page.next_page_token;
  }
  flush();
  // The page's grant goes with its last slice, the last that gRPC sends and drops.
  if (!slices.empty()) {
    slices.back() = HoldingSlice(std::move(slices.back()), std::move(page.response_bytes));
  }
  page = ArticlePageWithStats();  // what the slices do not hold is needed no more
  // An empty page is an empty buffer, which is still a message (of no bytes) to send.
  return grpc::ByteBuffer(slices.data(), slices.size());
}

grpc::ByteBuffer MostReadPageBytes(MostReadPage page) {
  grpc::Slice slice =
      HoldingSlice(page.response.SerializeAsString(), std::move(page.response_bytes));
  return grpc::ByteBuffer(&slice, 1);
}

GrpcContentService::GrpcContentService(ContentService* service, const EditorAuth* editor_auth,
                                       CallLimiter* limiter, WatchRelays* watches,
                                       CallObserver* observer)
    : service_(service),
      editor_auth_(editor_auth),
      get_article_(observer->ObserveInHandler(content_v1::ContentService::service_full_name(),
                                              "GetArticle")),
      read_article_(observer->ObserveInHandler(content_v1::ContentService::service_full_name(),
                                               "ReadArticle")),
      list_articles_(observer->ObserveInHandler(content_v1::ContentService::service_full_name(),
                                                "ListArticles")),
      list_most_read_articles_(observer->ObserveInHandler(
          content_v1::ContentService::service_full_name(), "ListMostReadArticles")),
      limiter_(limiter),
      watches_(watches) {}

absl::Status GrpcContentService::AuthorizeEditor(const grpc::CallbackServerContext* context) const {
  // Header keys arrive lower-cased. More than one authorization header is ambiguous, so it is
  // treated like none.
  const auto& metadata = context->client_metadata();
  absl::string_view header;
  if (metadata.count("authorization") == 1) {
    const grpc::string_ref value = metadata.find("authorization")->second;
    header = absl::string_view(value.data(), value.size());
  }
  return editor_auth_->Authorize(header);
}

template <typename Request, typename Answer>
grpc::ServerUnaryReactor* GrpcContentService::Serve(
    grpc::CallbackServerContext* context, const ObservedMethod& method,
    const grpc::ByteBuffer& request, grpc::ByteBuffer* response,
    void (ContentService::*logic)(const Request&, absl::Time, const TraceContext&,
                                  ContentService::Done<Answer>)) {
  const ObservedCall call(method, context->client_metadata());
  Request parsed;
  if (!ParseRawRequest(request, &parsed)) {
    return FinishObserved(context, call, UnparsableRequestStatus());
  }
  auto permit = limiter_->TryAcquire();
  if (!permit) return FinishObserved(context, call, OverloadedStatus(*limiter_));
  auto* reactor = context->DefaultReactor();
  (service_->*logic)(parsed, Deadline(context), call.trace(),
                     FinishRawInto<Answer>(reactor, response, *std::move(permit), call));
  return reactor;
}

grpc::ServerUnaryReactor* GrpcContentService::GetArticle(grpc::CallbackServerContext* context,
                                                         const grpc::ByteBuffer* request,
                                                         grpc::ByteBuffer* response) {
  return Serve(context, get_article_, *request, response, &ContentService::GetArticle);
}

grpc::ServerUnaryReactor* GrpcContentService::ReadArticle(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer* request,
                                                          grpc::ByteBuffer* response) {
  return Serve(context, read_article_, *request, response, &ContentService::ReadArticle);
}

grpc::ServerUnaryReactor* GrpcContentService::ListArticles(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request,
                                                           grpc::ByteBuffer* response) {
  return Serve(context, list_articles_, *request, response, &ContentService::ListArticles);
}

grpc::ServerUnaryReactor* GrpcContentService::ListMostReadArticles(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request,
    grpc::ByteBuffer* response) {
  return Serve(context, list_most_read_articles_, *request, response,
               &ContentService::ListMostReadArticles);
}

grpc::ServerUnaryReactor* GrpcContentService::CreateArticle(
    grpc::CallbackServerContext* context, const content_v1::CreateArticleRequest* request,
    content_v1::Article* response) {
  if (auto status = AuthorizeEditor(context); !status.ok()) {
    return FinishNow<content_v1::Article>(context, status, response);
  }
  return FinishNow(context, service_->CreateArticle(*request), response);
}

grpc::ServerUnaryReactor* GrpcContentService::UpdateArticle(
    grpc::CallbackServerContext* context, const content_v1::UpdateArticleRequest* request,
    content_v1::Article* response) {
  if (auto status = AuthorizeEditor(context); !status.ok()) {
    return FinishNow<content_v1::Article>(context, status, response);
  }
  return FinishNow(context, service_->UpdateArticle(*request), response);
}

grpc::ServerUnaryReactor* GrpcContentService::DeleteArticle(
    grpc::CallbackServerContext* context, const content_v1::DeleteArticleRequest* request,
    google::protobuf::Empty* response) {
  auto* reactor = context->DefaultReactor();
  if (auto status = AuthorizeEditor(context); !status.ok()) {
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  }
  reactor->Finish(ToGrpcStatus(service_->DeleteArticle(*request)));
  return reactor;
}

grpc::ServerWriteReactor<content_v1::WatchArticleReadStatsResponse>*
GrpcContentService::WatchArticleReadStats(grpc::CallbackServerContext* /*context*/,
                                          const content_v1::WatchArticleReadStatsRequest* request) {
  return watches_->Start(CurrentCallTrace(),
                         [&] { return service_->WatchedArticleNames(*request); });
}

}  // namespace newsroom::content
