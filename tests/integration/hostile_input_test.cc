// Hostile requests sent over real gRPC to both services, as raw protobuf bytes so that nothing a
// client library would refuse to send is out of reach: each must be refused with INVALID_ARGUMENT
// or RESOURCE_EXHAUSTED (never INTERNAL, UNKNOWN or UNIMPLEMENTED, never a crash), and afterwards
// Redis must hold only the keys the accepted reads should have made, byte for byte.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/integration/pair_fixture.h"
#include "tests/support/dedup_markers.h"
#include "tests/support/redis_client.h"

namespace newsroom::testing {
namespace {

constexpr char kContentService[] = "/newsroom.content.v1.ContentService/";
constexpr char kAnalyticsService[] = "/newsroom.analytics.v1.AnalyticsService/";
// The services' receive limits: analytics takes batches of 1000 reads from content-service.
constexpr std::size_t kContentMaxMessageBytes = 1 << 20;
constexpr std::size_t kAnalyticsMaxMessageBytes = 4 << 20;
constexpr char kArticleId[] = "hostile-target";
constexpr char kArticle[] = "articles/hostile-target";
// analytics-service's default --dedup-window, which the pair runs with.
constexpr std::int64_t kDedupWindowSeconds = 172800;

// Protobuf wire format by hand: a length-delimited field (strings, bytes, messages).
std::string Varint(std::uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

std::string Field(int number, std::string_view bytes) {
  return Varint(static_cast<std::uint64_t>(number) << 3 | 2) + Varint(bytes.size()) +
         std::string(bytes);
}

// An unknown varint field, number 999, which no request declares.
std::string UnknownField() { return Varint(999 << 3 | 0) + Varint(42); }

struct Outcome {
  grpc::Status status;
  std::string response;
};

// Sends `request` as it is to `method` (e.g. "/pkg.Service/Method") and waits for the answer.
Outcome Call(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
             const std::string& request) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(request);
  grpc::ByteBuffer request_buffer(&slice, 1);
  grpc::ByteBuffer response_buffer;
  auto context = Context(std::chrono::seconds(20));
  std::promise<grpc::Status> done;
  stub.UnaryCall(context.get(), method, grpc::StubOptions(), &request_buffer, &response_buffer,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  Outcome outcome{done.get_future().get(), ""};
  std::vector<grpc::Slice> slices;
  if (outcome.status.ok() && response_buffer.Dump(&slices).ok()) {
    for (const auto& s : slices) outcome.response.append(s.begin(), s.end());
  }
  return outcome;
}

enum class Service { kContent, kAnalytics };

struct HostileCase {
  std::string what;
  Service service;
  std::string method;
  std::string request;  // raw bytes
  grpc::StatusCode expected;
};

constexpr auto kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
constexpr auto kTooBig = grpc::StatusCode::RESOURCE_EXHAUSTED;

std::string ReadArticle(std::string_view name, std::string_view reader_id,
                        std::string_view read_id) {
  return Field(1, name) + Field(2, reader_id) + Field(3, read_id);
}

std::string RecordRead(std::string_view article, std::string_view reader_id,
                       std::string_view read_id) {
  return Field(1, article) + Field(2, reader_id) + Field(3, read_id);
}

// CreateArticleRequest{article{title, tags...}, article_id}.
std::string CreateArticle(std::string_view title, std::string_view tag,
                          std::string_view article_id) {
  return Field(1, Field(2, title) + Field(7, tag)) + Field(2, article_id);
}

std::string Repeat(std::size_t bytes, char c = 'r') { return std::string(bytes, c); }

// Characters that must never reach a name, an id or a Redis key.
const std::vector<std::pair<std::string, std::string>>& BadCharacters() {
  static const auto* characters =
      new std::vector<std::pair<std::string, std::string>>{{"CR", "\r"},
                                                           {"LF", "\n"},
                                                           {"NUL", std::string(1, '\0')},
                                                           {"%", "%"},
                                                           {"space", " "},
                                                           {"*", "*"},
                                                           {"{}", "{}"},
                                                           {"tab", "\t"},
                                                           {"DEL", "\x7f"},
                                                           {"ESC", "\x1b"},
                                                           {"colon", ":"},
                                                           {"slash", "/"},
                                                           {"CRLF", "\r\nX"},
                                                           {"%0d", "%0d"},
                                                           {"non-ASCII", "\xc3\xa9"},
                                                           {"upper", "A"},
                                                           {"U+2028", "\xe2\x80\xa8"}};
  return *characters;
}

std::vector<HostileCase> HostileCases() {
  std::vector<HostileCase> cases;
  const auto content = [&](std::string what, std::string method, std::string request,
                           grpc::StatusCode expected) {
    cases.push_back(
        {std::move(what), Service::kContent, std::move(method), std::move(request), expected});
  };
  const auto analytics = [&](std::string what, std::string method, std::string request,
                             grpc::StatusCode expected) {
    cases.push_back(
        {std::move(what), Service::kAnalytics, std::move(method), std::move(request), expected});
  };

  // Names, ids and tags carrying characters outside their grammar.
  for (const auto& [label, bad] : BadCharacters()) {
    const std::string name = "articles/a" + bad + "b";
    content("GetArticle name with " + label, "GetArticle", Field(1, name), kInvalid);
    content("ReadArticle name with " + label, "ReadArticle", ReadArticle(name, "", "r1"), kInvalid);
    content("DeleteArticle name with " + label, "DeleteArticle", Field(1, name), kInvalid);
    content("CreateArticle article_id with " + label, "CreateArticle",
            CreateArticle("Title", "tag", "a" + bad + "b"), kInvalid);
    content("CreateArticle tag with " + label, "CreateArticle",
            CreateArticle("Title", "t" + bad, "fresh-id"), kInvalid);
    content("ListArticles tag with " + label, "ListArticles", Field(3, "t" + bad), kInvalid);
    analytics("RecordRead article with " + label, "RecordRead", RecordRead(name, "", "r1"),
              kInvalid);
    analytics("GetReadStats article with " + label, "GetReadStats", Field(1, name), kInvalid);
    analytics("BatchGetReadStats one article with " + label, "BatchGetReadStats",
              Field(1, kArticle) + Field(1, name), kInvalid);
    // `:` is allowed in read ids (they follow the article id in the key, after its `:`).
    if (label != "colon" && label != "upper") {
      content("ReadArticle read_id with " + label, "ReadArticle",
              ReadArticle(kArticle, "", "r" + bad), kInvalid);
      analytics("RecordRead read_id with " + label, "RecordRead",
                RecordRead(kArticle, "", "r" + bad), kInvalid);
      analytics("BatchRecordReads one read_id with " + label, "BatchRecordReads",
                Field(1, RecordRead(kArticle, "", "good-1")) +
                    Field(1, RecordRead(kArticle, "", "r" + bad)),
                kInvalid);
    }
  }
  // Reader ids are opaque (only a keyed hash is stored), so only control characters are refused.
  for (const auto& [label, bad] :
       std::vector<std::pair<std::string, std::string>>{{"CR", "\r"},
                                                        {"LF", "\n"},
                                                        {"NUL", std::string(1, '\0')},
                                                        {"tab", "\t"},
                                                        {"DEL", "\x7f"},
                                                        {"ESC", "\x1b"}}) {
    content("ReadArticle reader_id with " + label, "ReadArticle",
            ReadArticle(kArticle, "reader" + bad, "r1"), kInvalid);
    analytics("RecordRead reader_id with " + label, "RecordRead",
              RecordRead(kArticle, "reader" + bad, "r1"), kInvalid);
  }
  content("CreateArticle title with NUL", "CreateArticle",
          CreateArticle(std::string("Ti\0tle", 6), "tag", "fresh-id"), kInvalid);
  content("CreateArticle title with CRLF", "CreateArticle",
          CreateArticle("Title\r\nX-Injected: 1", "tag", "fresh-id"), kInvalid);

  // Bounds: just past each documented limit, then around the 1 MiB message limit.
  content("ReadArticle reader_id of 257 bytes", "ReadArticle",
          ReadArticle(kArticle, Repeat(257), "r1"), kInvalid);
  analytics("RecordRead reader_id of 257 bytes", "RecordRead",
            RecordRead(kArticle, Repeat(257), "r1"), kInvalid);
  analytics("RecordRead reader_id of 129 two-byte characters", "RecordRead",
            RecordRead(
                kArticle,
                [] {
                  std::string s;
                  for (int i = 0; i < 129; ++i) s += "\xc3\xa9";
                  return s;
                }(),
                "r1"),
            kInvalid);
  content("ReadArticle read_id of 129 characters", "ReadArticle",
          ReadArticle(kArticle, "", Repeat(129)), kInvalid);
  analytics("RecordRead read_id of 129 characters", "RecordRead",
            RecordRead(kArticle, "", Repeat(129)), kInvalid);
  content("GetArticle article id of 64 characters", "GetArticle",
          Field(1, "articles/" + Repeat(64, 'a')), kInvalid);
  content("ReadArticle reader_id of 1 MiB less 1 KiB", "ReadArticle",
          ReadArticle(kArticle, Repeat(kContentMaxMessageBytes - 1024), "r1"), kInvalid);
  analytics("RecordRead reader_id of 4 MiB less 1 KiB", "RecordRead",
            RecordRead(kArticle, Repeat(kAnalyticsMaxMessageBytes - 1024), "r1"), kInvalid);
  content("ReadArticle reader_id of 1 MiB", "ReadArticle",
          ReadArticle(kArticle, Repeat(kContentMaxMessageBytes), "r1"), kTooBig);
  analytics("RecordRead reader_id of 4 MiB", "RecordRead",
            RecordRead(kArticle, Repeat(kAnalyticsMaxMessageBytes), "r1"), kTooBig);
  content("CreateArticle body of 2 MiB", "CreateArticle",
          Field(1, Field(2, "Title") + Field(4, Repeat(2 * kContentMaxMessageBytes, 'b'))) +
              Field(2, "big-body"),
          kTooBig);
  content("ListArticles page_token of 1 MiB", "ListArticles",
          Field(2, Repeat(kContentMaxMessageBytes)), kTooBig);

  // Huge repeated fields: over the message limit, or under it but past the 1000-entry bound.
  {
    std::string many_articles;
    for (int i = 0; i < 100000; ++i) many_articles += Field(1, "articles/a-" + std::to_string(i));
    // About 1.9 MB: under analytics' message limit, far past its 1000-entry bound.
    analytics("BatchGetReadStats with 100000 articles", "BatchGetReadStats", many_articles,
              kInvalid);
    std::string too_many_articles;
    for (int i = 0; i < 250000; ++i) {
      too_many_articles += Field(1, "articles/a-" + std::to_string(i));
    }
    analytics("BatchGetReadStats with 250000 articles (over 4 MiB)", "BatchGetReadStats",
              too_many_articles, kTooBig);
    std::string just_past;
    for (int i = 0; i < 1001; ++i) just_past += Field(1, kArticle);
    analytics("BatchGetReadStats with 1001 articles", "BatchGetReadStats", just_past, kInvalid);
    std::string many_reads;
    for (int i = 0; i < 10000; ++i) {
      many_reads += Field(1, RecordRead("articles/a", "", "r-" + std::to_string(i)));
    }
    analytics("BatchRecordReads with 10000 reads", "BatchRecordReads", many_reads, kInvalid);
    std::string many_tags;
    for (int i = 0; i < 50000; ++i) many_tags += Field(7, "t" + std::to_string(i));
    content("CreateArticle with 50000 tags", "CreateArticle",
            Field(1, Field(2, "Title") + many_tags) + Field(2, "many-tags"), kInvalid);
    analytics("BatchRecordReads with no reads", "BatchRecordReads", "", kInvalid);
    analytics("BatchGetReadStats with no articles", "BatchGetReadStats", "", kInvalid);
  }

  // Invalid UTF-8 in proto3 string fields: gRPC cannot parse these requests at all.
  for (const auto& [label, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"a lone continuation byte", "\x80"},
           {"0xFF", "\xff"},
           {"an overlong '/'", "\xc0\xaf"},
           {"a surrogate", "\xed\xa0\x80"},
           {"a truncated sequence", "\xe2\x82"},
           {"a code point past U+10FFFF", "\xf4\x90\x80\x80"}}) {
    content("ReadArticle reader_id with " + label, "ReadArticle",
            ReadArticle(kArticle, "r" + bytes, "r1"), kInvalid);
    analytics("RecordRead reader_id with " + label, "RecordRead",
              RecordRead(kArticle, "r" + bytes, "r1"), kInvalid);
  }
  content("GetArticle name with invalid UTF-8", "GetArticle", Field(1, "articles/\xff"), kInvalid);
  content("CreateArticle title with invalid UTF-8", "CreateArticle",
          CreateArticle("Ti\xfftle", "tag", "fresh-id"), kInvalid);
  content("ListArticles tag with invalid UTF-8", "ListArticles", Field(3, "\xfe"), kInvalid);
  analytics("GetReadStats article with invalid UTF-8", "GetReadStats", Field(1, "\xff"), kInvalid);
  analytics("BatchGetReadStats article with invalid UTF-8", "BatchGetReadStats",
            Field(1, kArticle) + Field(1, "articles/\xc3"), kInvalid);
  analytics("ListTopArticles page_token with invalid UTF-8", "ListTopArticles", Field(3, "\x80"),
            kInvalid);

  // Malformed protobuf and unknown fields.
  content("GetArticle truncated field", "GetArticle", Varint(1 << 3 | 2) + Varint(100) + "abc",
          kInvalid);
  analytics("RecordRead wire type 7", "RecordRead", Varint(1 << 3 | 7) + "x", kInvalid);
  analytics("GetReadStats field number 0", "GetReadStats", Field(0, "x"), kInvalid);
  analytics("RecordRead unterminated varint", "RecordRead", std::string(11, '\xff'), kInvalid);
  content("ListMostReadArticles unterminated varint", "ListMostReadArticles",
          std::string(11, '\xff'), kInvalid);
  content("ListMostReadArticles negative page_size", "ListMostReadArticles",
          Varint(2 << 3 | 0) + Varint(static_cast<std::uint64_t>(-1)), kInvalid);
  content("ListMostReadArticles unknown period", "ListMostReadArticles",
          Varint(1 << 3 | 0) + Varint(99), kInvalid);
  content("ReadArticle bad read_id plus unknown fields", "ReadArticle",
          ReadArticle(kArticle, "", "r 1") + UnknownField() + Field(77, "\xff\xfe"), kInvalid);
  analytics("RecordRead bad article plus unknown fields", "RecordRead",
            UnknownField() + RecordRead("articles/%2f", "", "r1") + Field(78, "x"), kInvalid);
  content("CreateArticle unknown field in article, no title", "CreateArticle",
          Field(1, UnknownField()) + Field(2, "no-title"), kInvalid);

  // Page tokens: garbage, and well-formed base64 around a hostile cursor.
  content("ListArticles page_token of symbols", "ListArticles", Field(2, "%%%**{}"), kInvalid);
  content("ListArticles page_token with a spaced article id", "ListArticles",
          Field(2, "MXwwfDB8YSBifA"),  // base64url("1|0|0|a b|")
          kInvalid);
  analytics("ListTopArticles page_token of symbols", "ListTopArticles", Field(3, "%0d%0a"),
            kInvalid);
  analytics("ListTopArticles page_token with a negative offset", "ListTopArticles",
            Field(3, "djE6MTotMQ"),  // base64url("v1:1:-1")
            kInvalid);
  return cases;
}

// Odd but valid requests: accepted, and they must leave nothing but well-formed keys behind.
struct AcceptedRead {
  std::string what;
  std::string reader_id;
  std::string read_id;
};

std::vector<AcceptedRead> AcceptedReads() {
  return {{"reader_id with %, space, * and {}", "%0d% *{}", "ok-1"},
          {"reader_id of 256 bytes", Repeat(256), "ok-2"},
          {"reader_id of 128 two-byte characters",
           [] {
             std::string s;
             for (int i = 0; i < 128; ++i) s += "\xc3\xa9";
             return s;
           }(),
           "ok-3"},
          {"read_id with every allowed punctuation", "reader", "A.b_c~d:e-f:9"},
          {"read_id of 128 characters", "", Repeat(128, 'z')}};
}

bool HasForbiddenByte(std::string_view key) {
  for (const char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7F || c == '%' || c == '*' || c == '{' || c == '}') return true;
  }
  return false;
}

std::string Printable(std::string_view bytes) {
  std::string out;
  for (const char c : bytes.substr(0, 80)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7F) {
      out.push_back(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return bytes.size() > 80 ? out + "..." : out;
}

TEST(HostileInputTest, EveryHostileRequestIsRefusedAndRedisKeysStayWellFormed) {
  NewsroomPair pair;
  {
    content_v1::CreateArticleRequest request;
    *request.mutable_article() = SampleArticle("Target of hostile requests");
    request.set_article_id(kArticleId);
    content_v1::Article created;
    ASSERT_TRUE(pair.content().CreateArticle(Context().get(), request, &created).ok());
  }

  const std::vector<HostileCase> cases = HostileCases();
  std::map<std::string, int> by_code;
  int refused = 0;
  for (const HostileCase& c : cases) {
    const auto& channel =
        c.service == Service::kContent ? pair.content_channel() : pair.analytics_channel();
    const std::string prefix = c.service == Service::kContent ? kContentService : kAnalyticsService;
    const Outcome outcome = Call(channel, prefix + c.method, c.request);
    const grpc::StatusCode code = outcome.status.error_code();
    by_code[absl::StatusCodeToString(static_cast<absl::StatusCode>(code))]++;
    if (code == kInvalid || code == kTooBig) ++refused;
    EXPECT_EQ(code, c.expected) << c.what << ": " << outcome.status.error_message();
    EXPECT_FALSE(outcome.status.error_message().empty()) << c.what << ": no message";
  }

  // Still serving, and still answering real requests correctly.
  EXPECT_EQ(HealthOf(pair.content_channel(), ""), "SERVING");
  EXPECT_EQ(HealthOf(pair.analytics_channel(), ""), "SERVING");

  const std::vector<AcceptedRead> accepted = AcceptedReads();
  for (const AcceptedRead& read : accepted) {
    content_v1::ReadArticleRequest request;
    request.set_name(kArticle);
    request.set_reader_id(read.reader_id);
    request.set_read_id(read.read_id);
    content_v1::Article article;
    const grpc::Status status = pair.content().ReadArticle(Context().get(), request, &article);
    EXPECT_TRUE(status.ok()) << read.what << ": " << status.error_message();
    EXPECT_TRUE(article.has_read_stats()) << read.what;
  }
  // Unknown fields on an otherwise valid request are ignored, as proto3 requires.
  {
    const Outcome outcome =
        Call(pair.analytics_channel(), std::string(kAnalyticsService) + "RecordRead",
             UnknownField() + RecordRead(kArticle, "reader", "ok-unknown") + Field(100, "\xff"));
    EXPECT_TRUE(outcome.status.ok()) << outcome.status.error_message();
  }
  const std::size_t accepted_count = accepted.size() + 1;
  // Every refused read counted nothing: only the accepted ones did. Asked of analytics itself,
  // since content-service may serve stats up to 1 s old.
  analytics_v1::GetReadStatsRequest get;
  get.set_article(kArticle);
  analytics_v1::ReadStats stats;
  ASSERT_TRUE(pair.analytics().GetReadStats(Context().get(), get, &stats).ok());
  EXPECT_EQ(stats.reads(), static_cast<int64_t>(accepted_count));

  // Redis holds exactly the keys the accepted reads make, nothing with a stray byte. A read's dedup
  // marker is a field of one of the hashes `test:dedup:{W}:{slot}:{shard}` of the slot current
  // when it was recorded: this slot or, should the test straddle a slot's end, the one before.
  // Beside them, each slot's shard count and (once it has markers) marker count, and the end of
  // the lookups of older releases' one-key markers.
  RedisClient redis(pair.redis().port());
  const std::vector<std::string> keys = redis.Strings({"KEYS", "*"});
  std::set<std::string> expected = {
      "test:reads:hostile-target", "test:readers:hostile-target", "test:top:all", "test:changes",
      "test:changes:head",         "test:dedup:legacy-until"};
  std::set<std::string> read_ids = {"ok-unknown"};
  for (const AcceptedRead& read : accepted) read_ids.insert(read.read_id);
  ASSERT_EQ(read_ids.size(), accepted_count) << "read_ids must be distinct";
  const RedisCommandText text = [&redis](const std::vector<std::string>& argv) {
    return redis.String(argv);
  };
  const absl::Time now = absl::Now();
  for (const absl::Time at : {now, now - absl::Seconds(kDedupWindowSeconds)}) {
    const std::string slot = DedupSlotPrefix("test:", kDedupWindowSeconds, at);
    if (!redis.String({"GET", slot + "shards"}).empty()) expected.insert(slot + "shards");
  }
  std::set<std::string> dedup_hashes;
  for (const std::string& read_id : read_ids) {
    const std::optional<FoundDedupMarker> found =
        FindDedupMarker(text, "test:", kDedupWindowSeconds, now, kArticleId, read_id);
    if (!found.has_value()) {
      ADD_FAILURE() << "no dedup marker for read " << Printable(read_id);
      continue;
    }
    expected.insert(found->address.key);
    expected.insert("test:dedup:" + std::to_string(kDedupWindowSeconds) + ":" +
                    std::to_string(found->slot) + ":count");
    dedup_hashes.insert(found->address.key);
  }
  // Those hashes hold the accepted reads' markers and nothing else.
  std::size_t markers = 0;
  for (const std::string& hash : dedup_hashes) {
    markers += static_cast<std::size_t>(std::stoll(redis.String({"HLEN", hash})));
  }
  EXPECT_EQ(markers, accepted_count);
  const std::regex day_key("test:top:day:[0-9]{4}-[0-9]{2}-[0-9]{2}");
  std::set<std::string> actual;
  int day_keys = 0;
  for (const std::string& key : keys) {
    EXPECT_FALSE(HasForbiddenByte(key)) << "key with a forbidden byte: " << Printable(key);
    if (std::regex_match(key, day_key)) {
      ++day_keys;
    } else {
      actual.insert(key);
    }
  }
  // The change log's id exists once content-service's change stream has been polled: timing.
  actual.erase("test:changes:id");
  EXPECT_EQ(actual, expected);
  EXPECT_EQ(day_keys, 1);
  EXPECT_EQ(redis.Strings({"ZRANGE", "test:top:all", "0", "-1"}),
            std::vector<std::string>{kArticleId});
  EXPECT_EQ(redis.Strings({"ZRANGE", "test:changes", "0", "-1"}),
            std::vector<std::string>{kArticleId});

  int other = static_cast<int>(cases.size()) - refused;
  std::string codes;
  for (const auto& [code, count] : by_code) codes += " " + code + "=" + std::to_string(count);
  std::cout << "hostile: " << cases.size() << " requests, " << refused
            << " refused with INVALID_ARGUMENT/RESOURCE_EXHAUSTED, " << other << " other ("
            << codes.substr(1) << "); " << accepted_count << " odd but valid reads accepted; Redis "
            << keys.size() << " keys, all of the expected shapes" << std::endl;
}

// Unknown fields bypass every bound and check on an article's fields; content-service must not
// store them and serve them to every reader. A client built from a newer schema must learn that
// its fields were not kept, and nothing it sent is stored: writes with unknown fields anywhere in
// the article are refused.
TEST(HostileInputTest, UnknownFieldsInAnArticleAreRefusedAndNotStored) {
  NewsroomPair pair;
  const std::string content = kContentService;
  const auto unknown_fields_served = [&] {
    const Outcome got =
        Call(pair.content_channel(), content + "GetArticle", Field(1, "articles/unknown-fields"));
    EXPECT_TRUE(got.status.ok()) << got.status.error_message();
    content_v1::Article stored;
    EXPECT_TRUE(stored.ParseFromString(got.response));
    return stored.GetReflection()->GetUnknownFields(stored).field_count() +
           stored.lead_image().GetReflection()->GetUnknownFields(stored.lead_image()).field_count();
  };

  const Outcome created =
      Call(pair.content_channel(), content + "CreateArticle",
           Field(1, Field(2, "Unknown fields") + UnknownField() + Field(500, Repeat(100000, 'u'))) +
               Field(2, "unknown-fields"));
  EXPECT_EQ(created.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << created.status.error_message();
  const Outcome plain =
      Call(pair.content_channel(), content + "CreateArticle",
           Field(1, Field(2, "Unknown fields") + Field(5, Field(1, "https://e.org/i.jpg"))) +
               Field(2, "unknown-fields"));
  ASSERT_TRUE(plain.status.ok()) << plain.status.error_message();
  EXPECT_EQ(unknown_fields_served(), 0) << "CreateArticle stored unknown fields";

  const Outcome updated =
      Call(pair.content_channel(), content + "UpdateArticle",
           Field(1, Field(1, "articles/unknown-fields") +
                        Field(5, Field(1, "https://e.org/i.jpg") + UnknownField())) +
               Field(2, Field(1, "lead_image")));
  EXPECT_EQ(updated.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << updated.status.error_message();
  EXPECT_EQ(unknown_fields_served(), 0) << "UpdateArticle stored unknown fields";

  // read_stats is output only and never stored: an article sent back as a newer replica served
  // it, its stats carrying a field this one does not know, is taken.
  const std::string newer_stats = Field(14, Field(1, "articles/unknown-fields") + UnknownField());
  const Outcome echoed =
      Call(pair.content_channel(), content + "UpdateArticle",
           Field(1, Field(1, "articles/unknown-fields") + Field(2, "Sent back") + newer_stats) +
               Field(2, Field(1, "title")));
  EXPECT_TRUE(echoed.status.ok()) << echoed.status.error_message();
  const Outcome echoed_create =
      Call(pair.content_channel(), content + "CreateArticle",
           Field(1, Field(2, "Sent back") + newer_stats) + Field(2, "sent-back"));
  EXPECT_TRUE(echoed_create.status.ok()) << echoed_create.status.error_message();
  EXPECT_EQ(unknown_fields_served(), 0) << "stats sent back left unknown fields behind";
}

}  // namespace
}  // namespace newsroom::testing
