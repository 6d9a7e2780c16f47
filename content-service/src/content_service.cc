#include "content-service/src/content_service.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/src/log.h"
#include "common/src/status_macros.h"
#include "common/src/validation.h"
#include "content-service/src/article_rules.h"
#include "content-service/src/page_token.h"
#include "google/protobuf/util/time_util.h"

namespace newsroom::content {
namespace {

using ::google::protobuf::util::TimeUtil;

constexpr int kDefaultListPageSize = 20;
constexpr int kMaxListPageSize = 100;
constexpr int kDefaultTopPageSize = 10;
constexpr int kMaxTopPageSize = 100;
// Rounds of ListTopArticles that ListMostReadArticles runs to skip deleted articles.
constexpr int kMaxTopRounds = 5;

google::protobuf::Timestamp ToProto(absl::Time time) {
  return TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(time));
}

std::string RandomHex128() {
  thread_local absl::BitGen bits;
  return absl::StrFormat("%016x%016x", absl::Uniform<std::uint64_t>(bits),
                         absl::Uniform<std::uint64_t>(bits));
}

// Read ids made here are marked so that they never collide with a caller's own scheme.
std::string NewReadId() { return absl::StrCat("cs-", RandomHex128()); }
std::string NewEtag() { return RandomHex128().substr(0, 16); }

// What a response adds to its articles' bytes, at most: each article's read_stats field (the
// article's name, up to 72 bytes, and two counts) with its field headers, and a page's token.
constexpr std::size_t kResponseBytesPerArticle = 128;
constexpr std::size_t kResponseBytesPerPage = 1024;

absl::StatusOr<int> PageSize(int requested, int default_size, int max_size) {
  if (requested < 0) return absl::InvalidArgumentError("page_size: must not be negative");
  if (requested == 0) return default_size;
  return std::min(requested, max_size);
}

}  // namespace

ContentService::ContentService(ArticleStore* store, AnalyticsClient* analytics,
                               PendingReads* pending_reads, ContentServiceOptions options)
    : store_(store),
      analytics_(analytics),
      pending_reads_(pending_reads),
      options_(options),
      response_budget_(options.max_response_bytes_in_flight),
      stats_cache_(options.stats_max_age, options.stats_cache_entries),
      stats_refresher_(analytics, &stats_cache_, options.stats_max_age / 2),
      read_coalescer_(analytics, options.read_coalescing) {
  if (options.stats_feed && options.stats_max_age > absl::ZeroDuration()) {
    stats_feed_ = std::make_unique<StatsFeed>(analytics, &stats_cache_);
  }
}

ContentService::~ContentService() {
  if (!WaitForAnalyticsCallbacks(absl::Seconds(30))) {
    log::Warning("analytics callbacks still due at exit", {{"callbacks", callbacks_.count()}});
  }
}

bool ContentService::WaitForAnalyticsCallbacks(absl::Duration timeout) {
  return callbacks_.WaitUntilNone(timeout);
}

absl::Time ContentService::AnalyticsDeadline(absl::Time caller_deadline) const {
  const absl::Time now = absl::Now();
  // Keep a margin before the caller's deadline, so that the article can still be sent back in
  // time when analytics takes all it is given.
  const absl::Duration margin = std::max(absl::Milliseconds(5), (caller_deadline - now) / 10);
  return std::min(now + options_.analytics_budget, caller_deadline - margin);
}

void ContentService::FetchStats(std::vector<std::string> names, absl::Time deadline,
                                const TraceContext& trace,
                                absl::AnyInvocable<void(StatsList) &&> then) {
  const absl::Time now = absl::Now();
  StatsList stats(names.size());
  std::vector<std::size_t> missing;  // indexes of articles without fresh cached stats
  for (std::size_t i = 0; i < names.size(); ++i) {
    bool due_for_refresh = false;
    stats[i] = stats_cache_.Fresh(names[i], now, &due_for_refresh);
    if (!stats[i]) {
      missing.push_back(i);
    } else if (due_for_refresh) {
      stats_refresher_.Request(names[i]);
    }
  }
  if (missing.empty()) {
    std::move(then)(std::move(stats));
    return;
  }
  std::vector<std::string> missing_names;
  missing_names.reserve(missing.size());
  for (std::size_t i : missing) missing_names.push_back(std::move(names[i]));
  analytics_->BatchGetReadStats(
      std::move(missing_names), AnalyticsDeadline(deadline), trace,
      [this, hold = callbacks_.Acquire(), stats = std::move(stats), missing = std::move(missing),
       sent = now, then = std::move(then)](
          absl::StatusOr<std::vector<analytics_v1::ReadStats>> fetched) mutable {
        if (fetched.ok()) {
          for (std::size_t j = 0; j < missing.size(); ++j) {
            stats_cache_.Put((*fetched)[j], sent);
            stats[missing[j]] = std::move((*fetched)[j]);
          }
        }
        std::move(then)(std::move(stats));
      });
}

void ContentService::AttachStats(
    std::vector<content_v1::Article> articles, absl::Time deadline, const TraceContext& trace,
    absl::AnyInvocable<void(std::vector<content_v1::Article>) &&> then) {
  std::vector<std::string> names;
  names.reserve(articles.size());
  for (const auto& article : articles) names.push_back(article.name());
  FetchStats(std::move(names), deadline, trace,
             [articles = std::move(articles), then = std::move(then)](StatsList stats) mutable {
               for (std::size_t i = 0; i < articles.size(); ++i) {
                 if (stats[i]) *articles[i].mutable_read_stats() = *std::move(stats[i]);
               }
               std::move(then)(std::move(articles));
             });
}

absl::StatusOr<std::vector<std::string>> ContentService::WatchedArticleNames(
    const content_v1::WatchArticleReadStatsRequest& request) {
  const int size = request.names_size();
  if (size < 1 || size > kMaxWatchedArticles) {
    return absl::InvalidArgumentError(
        absl::StrCat("names: must hold 1 to ", kMaxWatchedArticles, " article names, got ", size));
  }
  std::vector<std::string> names;
  absl::flat_hash_set<absl::string_view> seen;
  for (int i = 0; i < size; ++i) {
    const std::string field = absl::StrCat("names[", i, "]");
    NEWSROOM_ASSIGN_OR_RETURN(const absl::string_view id,
                              ParseArticleName(request.names(i), field));
    if (!seen.insert(request.names(i)).second) continue;
    absl::StatusOr<StoredArticle> article = store_->GetStored(id);
    if (article.status().code() == absl::StatusCode::kNotFound) {
      return absl::NotFoundError(absl::StrCat(field, ": no article ", request.names(i)));
    }
    NEWSROOM_RETURN_IF_ERROR(article.status());
    names.push_back(request.names(i));
  }
  return names;
}

absl::StatusOr<MemoryBudget::Grant> ContentService::GrantResponseBytes(std::size_t response_bytes) {
  const auto bytes = static_cast<std::int64_t>(response_bytes);
  std::optional<MemoryBudget::Grant> grant = response_budget_.TryAcquire(bytes);
  if (grant) return *std::move(grant);
  return ResponseBytesRefused(bytes);
}

absl::Status ContentService::GrowResponseGrant(MemoryBudget::Grant& grant, std::size_t bytes) {
  if (response_budget_.TryGrow(grant, static_cast<std::int64_t>(bytes))) return absl::OkStatus();
  return ResponseBytesRefused(grant.bytes() + static_cast<std::int64_t>(bytes));
}

absl::StatusOr<MemoryBudget::SharedHold> ContentService::HoldArticleBytes(
    const StoredArticle& article) {
  std::optional<MemoryBudget::SharedHold> hold = response_budget_.TryHold(article.shared_bytes());
  if (hold) return *std::move(hold);
  return ResponseBytesRefused(static_cast<std::int64_t>(article.bytes().size()));
}

absl::Status ContentService::ResponseBytesRefused(std::int64_t bytes) const {
  if (bytes > response_budget_.max_bytes()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "server busy: this response (", bytes,
        " bytes) is larger than the server holds in flight (", response_budget_.max_bytes(),
        " bytes), so it is served only while no other is; ask for a smaller page_size, or retry "
        "with backoff"));
  }
  return absl::ResourceExhaustedError(absl::StrCat("server busy: responses in flight hold ",
                                                   response_budget_.max_bytes(),
                                                   " bytes, the most allowed; retry with backoff"));
}

void ContentService::GetArticle(const content_v1::GetArticleRequest& request, absl::Time deadline,
                                const TraceContext& trace, Done<ArticleWithStats> done) {
  const auto id = ParseArticleName(request.name(), "name");
  if (!id.ok()) return std::move(done)(id.status());
  auto article = store_->GetStored(*id);
  if (!article.ok()) return std::move(done)(article.status());
  auto held = HoldArticleBytes(*article);
  if (!held.ok()) return std::move(done)(held.status());
  FetchStats({request.name()}, deadline, trace,
             [article = *std::move(article), held = *std::move(held),
              done = std::move(done)](StatsList stats) mutable {
               std::move(done)(
                   ArticleWithStats{std::move(article), std::move(stats.front()), std::move(held)});
             });
}

void ContentService::ReadArticle(const content_v1::ReadArticleRequest& request, absl::Time deadline,
                                 const TraceContext& trace, Done<ArticleWithStats> done) {
  const auto id = ParseArticleName(request.name(), "name");
  if (!id.ok()) return std::move(done)(id.status());
  if (auto status = ValidateReaderId(request.reader_id(), "reader_id"); !status.ok()) {
    return std::move(done)(status);
  }
  if (!request.read_id().empty()) {
    if (auto status = ValidateReadId(request.read_id(), "read_id"); !status.ok()) {
      return std::move(done)(status);
    }
  }
  auto article = store_->GetStored(*id);
  if (!article.ok()) return std::move(done)(article.status());
  // Before the read is recorded: a refused call must not count.
  auto held = HoldArticleBytes(*article);
  if (!held.ok()) return std::move(done)(held.status());

  analytics_v1::RecordReadRequest read;
  read.set_article(request.name());
  read.set_reader_id(request.reader_id());
  read.set_read_id(request.read_id().empty() ? NewReadId() : request.read_id());
  // The read's time is fixed now, so that a late delivery still lands in the right day.
  const absl::Time sent = absl::Now();
  *read.mutable_read_time() = ToProto(sent);

  analytics_v1::RecordReadRequest kept = read;  // to queue it if analytics does not answer
  read_coalescer_.Record(
      std::move(read), AnalyticsDeadline(deadline), trace,
      [this, hold = callbacks_.Acquire(), read = std::move(kept), sent, trace,
       article = *std::move(article), held = *std::move(held),
       done = std::move(done)](absl::StatusOr<analytics_v1::ReadStats> stats) mutable {
        auto attached = AfterRecordRead(std::move(read), sent, trace, std::move(stats));
        std::move(done)(ArticleWithStats{std::move(article), std::move(attached), std::move(held)});
      });
}

std::optional<analytics_v1::ReadStats> ContentService::AfterRecordRead(
    analytics_v1::RecordReadRequest read, absl::Time sent, const TraceContext& trace,
    absl::StatusOr<analytics_v1::ReadStats> stats) {
  if (stats.ok()) {
    stats_cache_.Put(*stats, sent);
    return *std::move(stats);
  }
  if (stats.status().code() == absl::StatusCode::kInvalidArgument) {
    // Analytics refused this read itself (say, clocks too far apart): sending it again cannot
    // succeed, and queueing it would hold good reads back.
    log::Warning("analytics refused a read", {{"article", read.article()},
                                              {"error", stats.status().message()},
                                              {"trace_id", TraceIdHex(trace)},
                                              {"span_id", SpanIdHex(trace)}});
  } else {
    // Whether or not analytics recorded it, delivering it again is safe: same read_id.
    pending_reads_->Enqueue(std::move(read));
  }
  return std::nullopt;
}

void ContentService::ListArticles(const content_v1::ListArticlesRequest& request,
                                  absl::Time deadline, const TraceContext& trace,
                                  Done<ArticlePageWithStats> done) {
  const auto page_size = PageSize(request.page_size(), kDefaultListPageSize, kMaxListPageSize);
  if (!page_size.ok()) return std::move(done)(page_size.status());
  if (!request.tag().empty() && !IsValidTag(request.tag())) {
    return std::move(done)(absl::InvalidArgumentError("tag: must match [a-z0-9][a-z0-9-]{0,62}"));
  }
  ListQuery query;
  query.limit = *page_size;
  query.tag = request.tag();
  if (!request.page_token().empty()) {
    auto cursor = DecodePageToken(request.page_token(), request.tag());
    if (!cursor.ok()) return std::move(done)(cursor.status());
    query.after = *std::move(cursor);
  }
  auto page = store_->List(query);
  if (!page.ok()) return std::move(done)(page.status());
  std::size_t page_bytes = kResponseBytesPerPage;
  for (const ListedArticle& listed : page->articles) {
    page_bytes += listed.article.bytes().size() + kResponseBytesPerArticle;
  }
  auto grant = GrantResponseBytes(page_bytes);
  if (!grant.ok()) return std::move(done)(grant.status());

  ArticlePageWithStats answer;
  answer.response_bytes = *std::move(grant);
  if (page->has_more && !page->articles.empty()) {
    answer.next_page_token = EncodePageToken(page->articles.back().position, request.tag());
  }
  std::vector<std::string> names;
  names.reserve(page->articles.size());
  answer.articles.reserve(page->articles.size());
  for (ListedArticle& listed : page->articles) {
    names.push_back(absl::StrCat(kArticleNamePrefix, listed.position.article_id));
    answer.articles.push_back(ArticleWithStats{std::move(listed.article), std::nullopt});
  }
  FetchStats(std::move(names), deadline, trace,
             [answer = std::move(answer), done = std::move(done)](StatsList stats) mutable {
               for (std::size_t i = 0; i < stats.size(); ++i) {
                 answer.articles[i].read_stats = std::move(stats[i]);
               }
               std::move(done)(std::move(answer));
             });
}

namespace {

// ListMostReadArticles in progress: pages through analytics' ranking, dropping articles that no
// longer exist in the store, until it has enough or the ranking ends.
struct TopListing {
  ArticleStore* store;
  AnalyticsClient* analytics;
  analytics_v1::Period period;
  int wanted;
  absl::Time analytics_deadline;
  TraceContext trace;
  // Grows a grant of response bytes (ContentService::GrowResponseGrant).
  absl::AnyInvocable<absl::Status(MemoryBudget::Grant&, std::size_t)> grow_grant;
  int rounds = 0;
  std::vector<content_v1::MostReadArticle> found;
  // The bytes of `found` and the response around them, granted as each round finds them, so that
  // what waits for the next round is counted too.
  MemoryBudget::Grant found_bytes;
  absl::flat_hash_set<std::string> listed;
  ContentService::Done<MostReadPage> done;
  absl::AnyInvocable<void(std::vector<content_v1::MostReadArticle>, MemoryBudget::Grant) &&> finish;

  static void Next(std::shared_ptr<TopListing> self, std::string page_token) {
    analytics_v1::ListTopArticlesRequest request;
    request.set_period(self->period);
    // Ask for a few more than needed, since some may have been deleted.
    request.set_page_size(self->wanted - static_cast<int>(self->found.size()) + 10);
    request.set_page_token(std::move(page_token));
    AnalyticsClient* analytics = self->analytics;
    const absl::Time deadline = self->analytics_deadline;
    const TraceContext trace = self->trace;
    analytics->ListTopArticles(
        request, deadline, trace,
        [self = std::move(self)](
            absl::StatusOr<analytics_v1::ListTopArticlesResponse> response) mutable {
          if (!response.ok()) {
            // Rankings live only in analytics: without it there is no honest answer.
            return std::move(self->done)(
                absl::UnavailableError("read rankings are unavailable; retry later"));
          }
          if (auto status = self->Collect(*response); !status.ok()) {
            return std::move(self->done)(status);
          }
          ++self->rounds;
          if (static_cast<int>(self->found.size()) < self->wanted &&
              !response->next_page_token().empty() && self->rounds < kMaxTopRounds) {
            return Next(std::move(self), response->next_page_token());
          }
          std::move(self->finish)(std::move(self->found), std::move(self->found_bytes));
        });
  }

  absl::Status Collect(const analytics_v1::ListTopArticlesResponse& response) {
    std::vector<std::string> ids;
    for (const auto& ranked : response.articles()) {
      if (auto id = ParseArticleName(ranked.article(), "article"); id.ok()) {
        ids.emplace_back(*id);
      }
    }
    NEWSROOM_ASSIGN_OR_RETURN(std::vector<content_v1::Article> live, store->BatchGet(ids));
    const std::size_t found_before = found.size();
    // BatchGet keeps request order and skips missing ids; walk both lists together.
    auto next_live = live.begin();
    for (const auto& ranked : response.articles()) {
      if (static_cast<int>(found.size()) >= wanted) break;
      if (next_live == live.end() || next_live->name() != ranked.article()) continue;
      // The ranking can shift between rounds (offset paging), moving an article already listed
      // onto a later page: list each article once.
      if (!listed.insert(ranked.article()).second) {
        ++next_live;
        continue;
      }
      content_v1::MostReadArticle entry;
      *entry.mutable_article() = std::move(*next_live++);
      entry.set_reads(ranked.reads());
      found.push_back(std::move(entry));
    }
    std::size_t bytes = rounds == 0 ? kResponseBytesPerPage : 0;
    for (std::size_t i = found_before; i < found.size(); ++i) {
      bytes += found[i].ByteSizeLong() + kResponseBytesPerArticle;
    }
    if (bytes == 0) return absl::OkStatus();
    return grow_grant(found_bytes, bytes);
  }
};

}  // namespace

void ContentService::ListMostReadArticles(const content_v1::ListMostReadArticlesRequest& request,
                                          absl::Time deadline, const TraceContext& trace,
                                          Done<MostReadPage> done) {
  const auto page_size = PageSize(request.page_size(), kDefaultTopPageSize, kMaxTopPageSize);
  if (!page_size.ok()) return std::move(done)(page_size.status());
  if (!analytics_v1::Period_IsValid(request.period())) {
    return std::move(done)(absl::InvalidArgumentError("period: unknown value"));
  }
  auto listing = std::make_shared<TopListing>(TopListing{
      .store = store_,
      .analytics = analytics_,
      .period = request.period(),
      .wanted = *page_size,
      .analytics_deadline = AnalyticsDeadline(deadline),
      .trace = trace,
      .grow_grant = [this](MemoryBudget::Grant& grant,
                           std::size_t bytes) { return GrowResponseGrant(grant, bytes); },
  });
  listing->done = std::move(done);
  // Once ranked, the page gets its all-time stats in one more batched call.
  listing->finish = [this, hold = callbacks_.Acquire(), listing_ptr = listing.get(), deadline,
                     trace](std::vector<content_v1::MostReadArticle> found,
                            MemoryBudget::Grant grant) mutable {
    auto done = std::move(listing_ptr->done);
    std::vector<content_v1::Article> articles;
    articles.reserve(found.size());
    for (auto& entry : found) articles.push_back(std::move(*entry.mutable_article()));
    AttachStats(std::move(articles), deadline, trace,
                [found = std::move(found), grant = std::move(grant),
                 done = std::move(done)](std::vector<content_v1::Article> articles) mutable {
                  MostReadPage page;
                  for (std::size_t i = 0; i < found.size(); ++i) {
                    *found[i].mutable_article() = std::move(articles[i]);
                    *page.response.add_articles() = std::move(found[i]);
                  }
                  page.response_bytes = std::move(grant);
                  std::move(done)(std::move(page));
                });
  };
  TopListing::Next(std::move(listing), "");
}

absl::StatusOr<content_v1::Article> ContentService::CreateArticle(
    const content_v1::CreateArticleRequest& request) {
  if (!IsValidArticleId(request.article_id())) {
    return absl::InvalidArgumentError(request.article_id().empty()
                                          ? "article_id: is required"
                                          : "article_id: must match [a-z0-9][a-z0-9-]{0,62}");
  }
  if (!request.has_article()) return absl::InvalidArgumentError("article: is required");
  NEWSROOM_RETURN_IF_ERROR(RejectUnknownArticleFields(request.article()));
  NEWSROOM_RETURN_IF_ERROR(ValidateArticleContent(request.article()));

  content_v1::Article article = request.article();
  article.set_name(absl::StrCat(kArticleNamePrefix, request.article_id()));
  article.clear_read_stats();
  const google::protobuf::Timestamp now = ToProto(absl::Now());
  *article.mutable_create_time() = now;
  *article.mutable_update_time() = now;
  if (!article.has_publish_time()) *article.mutable_publish_time() = now;
  article.set_etag(NewEtag());
  NEWSROOM_RETURN_IF_ERROR(store_->Create(article));
  return article;
}

absl::Status ContentService::ImportArticle(const content_v1::Article& article) {
  NEWSROOM_ASSIGN_OR_RETURN(const absl::string_view id,
                            ParseArticleName(article.name(), "article.name"));
  content_v1::CreateArticleRequest request;
  *request.mutable_article() = article;
  request.set_article_id(std::string(id));
  return CreateArticle(request).status();
}

absl::StatusOr<content_v1::Article> ContentService::UpdateArticle(
    const content_v1::UpdateArticleRequest& request) {
  if (!request.has_article()) return absl::InvalidArgumentError("article: is required");
  NEWSROOM_RETURN_IF_ERROR(RejectUnknownArticleFields(request.article()));
  NEWSROOM_ASSIGN_OR_RETURN(const absl::string_view id,
                            ParseArticleName(request.article().name(), "article.name"));
  NEWSROOM_ASSIGN_OR_RETURN(content_v1::Article current, store_->Get(id));
  if (!request.article().etag().empty() && request.article().etag() != current.etag()) {
    return absl::AbortedError("article.etag: the article changed since it was read; read it again");
  }
  NEWSROOM_ASSIGN_OR_RETURN(content_v1::Article updated,
                            ApplyUpdateMask(current, request.article(), request.update_mask()));
  NEWSROOM_RETURN_IF_ERROR(ValidateArticleContent(updated));
  *updated.mutable_update_time() = ToProto(absl::Now());
  updated.set_etag(NewEtag());
  NEWSROOM_RETURN_IF_ERROR(store_->Replace(updated, current.etag()));
  return updated;
}

absl::Status ContentService::DeleteArticle(const content_v1::DeleteArticleRequest& request) {
  NEWSROOM_ASSIGN_OR_RETURN(const absl::string_view id, ParseArticleName(request.name(), "name"));
  return store_->Delete(id);
}

}  // namespace newsroom::content
