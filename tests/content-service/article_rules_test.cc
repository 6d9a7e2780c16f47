#include "content-service/src/article_rules.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "absl/strings/match.h"

namespace newsroom::content {
namespace {

content_v1::Article ValidArticle() {
  content_v1::Article article;
  article.set_title("Night trains return to the coast line");
  article.set_subtitle("Sleeper services resume after a decade");
  article.set_body("First paragraph.\n\nSecond paragraph.");
  article.mutable_lead_image()->set_uri("https://images.example.org/train.jpg");
  article.mutable_lead_image()->set_caption("A sleeper train at dawn");
  article.mutable_lead_image()->set_credit("\xd0\x90\xd0\xbb\xd0\xb5\xd1\x81\xd1\x8c");
  article.mutable_source()->set_name("Coast Gazette");
  article.mutable_source()->set_uri("https://gazette.example.org/trains");
  article.add_tags("transport");
  article.set_language("en-GB");
  article.add_authors("Mira Okafor");
  return article;
}

struct InvalidCase {
  std::string name;
  std::function<void(content_v1::Article&)> mutate;
  std::string field;  // the message must start with "<field>:"
};

class ArticleValidationTest : public ::testing::TestWithParam<InvalidCase> {};

TEST(ArticleValidationBaseTest, AcceptsAValidArticle) {
  EXPECT_TRUE(ValidateArticleContent(ValidArticle()).ok());
}

TEST_P(ArticleValidationTest, RejectsNamingTheField) {
  content_v1::Article article = ValidArticle();
  GetParam().mutate(article);
  const absl::Status status = ValidateArticleContent(article);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message().substr(0, GetParam().field.size() + 1), GetParam().field + ":")
      << status.message();
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ArticleValidationTest,
    ::testing::Values(
        InvalidCase{"missing_title", [](auto& a) { a.clear_title(); }, "article.title"},
        InvalidCase{"long_title", [](auto& a) { a.set_title(std::string(501, 't')); },
                    "article.title"},
        InvalidCase{"title_newline", [](auto& a) { a.set_title("two\nlines"); }, "article.title"},
        InvalidCase{"title_bad_utf8", [](auto& a) { a.set_title("bad \xc3"); }, "article.title"},
        InvalidCase{"long_subtitle", [](auto& a) { a.set_subtitle(std::string(2001, 's')); },
                    "article.subtitle"},
        InvalidCase{"long_body", [](auto& a) { a.set_body(std::string(200001, 'b')); },
                    "article.body"},
        InvalidCase{"body_nul", [](auto& a) { a.set_body(std::string("a\0b", 3)); },
                    "article.body"},
        InvalidCase{"image_uri_scheme",
                    [](auto& a) { a.mutable_lead_image()->set_uri("javascript:alert(1)"); },
                    "article.lead_image.uri"},
        InvalidCase{
            "image_uri_long",
            [](auto& a) { a.mutable_lead_image()->set_uri("https://x/" + std::string(2048, 'p')); },
            "article.lead_image.uri"},
        InvalidCase{"long_credit",
                    [](auto& a) { a.mutable_lead_image()->set_credit(std::string(301, 'c')); },
                    "article.lead_image.credit"},
        InvalidCase{"source_uri", [](auto& a) { a.mutable_source()->set_uri("ftp://x/y"); },
                    "article.source.uri"},
        InvalidCase{"bad_tag", [](auto& a) { a.add_tags("Not A Slug"); }, "article.tags[1]"},
        InvalidCase{"duplicate_tag", [](auto& a) { a.add_tags("transport"); }, "article.tags[1]"},
        InvalidCase{"too_many_tags",
                    [](auto& a) {
                      for (int i = 0; i < 20; ++i) a.add_tags("t" + std::to_string(i));
                    },
                    "article.tags"},
        InvalidCase{"language", [](auto& a) { a.set_language("en GB"); }, "article.language"},
        InvalidCase{"empty_author", [](auto& a) { a.add_authors(""); }, "article.authors[1]"},
        InvalidCase{"publish_time_nanos", [](auto& a) { a.mutable_publish_time()->set_nanos(-1); },
                    "article.publish_time"}),
    [](const auto& info) { return info.param.name; });

google::protobuf::FieldMask Mask(std::initializer_list<const char*> paths) {
  google::protobuf::FieldMask mask;
  for (const char* path : paths) mask.add_paths(path);
  return mask;
}

TEST(RejectUnknownFieldsTest, NamesTheFirstUnknownFieldAtAnyDepth) {
  content_v1::Article article;
  article.set_title("Known");
  EXPECT_TRUE(RejectUnknownFields(article, "article").ok());

  article.mutable_lead_image()->set_uri("https://e.org/i.jpg");
  article.mutable_lead_image()
      ->GetReflection()
      ->MutableUnknownFields(article.mutable_lead_image())
      ->AddVarint(99, 1);
  const absl::Status status = RejectUnknownFields(article, "article");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(status.message(), "article.lead_image: unknown field 99"))
      << status.message();

  content_v1::Article top;
  top.GetReflection()->MutableUnknownFields(&top)->AddLengthDelimited(500, "junk");
  EXPECT_TRUE(absl::StartsWith(RejectUnknownFields(top, "article").message(),
                               "article: unknown field 500"));
}

TEST(ApplyUpdateMaskTest, UpdatesOnlyTheNamedFields) {
  content_v1::Article current = ValidArticle();
  current.set_etag("e1");
  content_v1::Article patch;
  patch.set_title("New title");
  patch.set_body("ignored: not in the mask");
  patch.mutable_lead_image()->set_caption("New caption");
  const auto updated = ApplyUpdateMask(current, patch, Mask({"title", "lead_image.caption"}));
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->title(), "New title");
  EXPECT_EQ(updated->body(), current.body());
  EXPECT_EQ(updated->lead_image().caption(), "New caption");
  EXPECT_EQ(updated->lead_image().uri(), current.lead_image().uri());
  EXPECT_EQ(updated->etag(), "e1");
}

TEST(ApplyUpdateMaskTest, EmptyMaskTakesThePopulatedFields) {
  content_v1::Article patch;
  patch.set_subtitle("Only this");
  patch.add_tags("rail");
  const auto updated = ApplyUpdateMask(ValidArticle(), patch, Mask({}));
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->subtitle(), "Only this");
  EXPECT_EQ(updated->title(), ValidArticle().title());
  ASSERT_EQ(updated->tags_size(), 1);  // repeated fields are replaced, not appended
  EXPECT_EQ(updated->tags(0), "rail");
}

TEST(ApplyUpdateMaskTest, NamedFieldMissingFromThePatchIsCleared) {
  content_v1::Article patch;
  const auto updated = ApplyUpdateMask(ValidArticle(), patch, Mask({"lead_image", "authors"}));
  ASSERT_TRUE(updated.ok());
  EXPECT_FALSE(updated->has_lead_image());
  EXPECT_EQ(updated->authors_size(), 0);
}

TEST(ApplyUpdateMaskTest, StarReplacesEveryUpdatableField) {
  content_v1::Article patch;
  patch.set_title("Replaced");
  const auto updated = ApplyUpdateMask(ValidArticle(), patch, Mask({"*"}));
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->title(), "Replaced");
  EXPECT_TRUE(updated->body().empty());
  EXPECT_FALSE(updated->has_source());
}

// Replacing message fields clears an unset publish_time; the article would then list as published
// in 1970, under every article with a date.
TEST(ApplyUpdateMaskTest, AClearedPublishTimeFallsBackToCreateTime) {
  content_v1::Article current = ValidArticle();
  current.mutable_create_time()->set_seconds(1'700'000'000);
  current.mutable_publish_time()->set_seconds(1'800'000'000);
  content_v1::Article patch;
  patch.set_title("Replaced");
  for (const char* path : {"*", "publish_time"}) {
    const auto updated = ApplyUpdateMask(current, patch, Mask({path}));
    ASSERT_TRUE(updated.ok()) << path;
    ASSERT_TRUE(updated->has_publish_time()) << path;
    EXPECT_EQ(updated->publish_time().seconds(), 1'700'000'000) << path;
  }
  // Not named, not touched; named and set, taken.
  EXPECT_EQ(ApplyUpdateMask(current, patch, Mask({"title"}))->publish_time().seconds(),
            1'800'000'000);
  patch.mutable_publish_time()->set_seconds(1'900'000'000);
  EXPECT_EQ(ApplyUpdateMask(current, patch, Mask({"*"}))->publish_time().seconds(), 1'900'000'000);
}

TEST(RejectUnknownArticleFieldsTest, IgnoresUnknownFieldsInTheOutputOnlyStats) {
  content_v1::Article article = ValidArticle();
  auto* stats = article.mutable_read_stats();
  stats->set_reads(3);
  stats->GetReflection()->MutableUnknownFields(stats)->AddVarint(99, 1);
  EXPECT_TRUE(RejectUnknownArticleFields(article).ok());
  EXPECT_EQ(RejectUnknownFields(article, "article").code(), absl::StatusCode::kInvalidArgument)
      << "the generic check should still see them";

  article.mutable_source()
      ->GetReflection()
      ->MutableUnknownFields(article.mutable_source())
      ->AddVarint(98, 1);
  const absl::Status status = RejectUnknownArticleFields(article);
  EXPECT_TRUE(absl::StartsWith(status.message(), "article.source: unknown field 98"))
      << status.message();
}

TEST(ApplyUpdateMaskTest, RejectsOutputOnlyAndUnknownPaths) {
  for (const char* path : {"name", "etag", "create_time", "update_time", "read_stats",
                           "read_stats.reads", "nonsense", "lead_image.nonsense", "*x"}) {
    const auto updated = ApplyUpdateMask(ValidArticle(), content_v1::Article(), Mask({path}));
    EXPECT_EQ(updated.status().code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_EQ(updated.status().message().substr(0, 12), "update_mask:") << path;
  }
}

}  // namespace
}  // namespace newsroom::content
