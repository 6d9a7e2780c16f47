#include "cli/src/render.h"

#include <gtest/gtest.h>

#include <string>

namespace newsroom::cli {
namespace {

namespace v1 = ::newsroom::content::v1;

// A complete article, written for these tests.
v1::Article FullArticle() {
  v1::Article article;
  article.set_name("articles/harbour-bridge-reopens");
  article.set_title("Harbour bridge reopens after repairs");
  article.set_subtitle("Engineers finished two weeks early, the city's transport office said");
  article.set_body(
      "The bridge carried its first traffic at dawn.\n\n"
      "Repairs covered the deck and the cables - 3 - 4 lanes reopen first.");
  article.mutable_lead_image()->set_uri("https://img.example.org/bridge.jpg");
  article.mutable_lead_image()->set_caption("The bridge at dawn");
  article.mutable_lead_image()->set_alt_text("A suspension bridge");
  article.mutable_lead_image()->set_credit("Jo Park");
  article.mutable_source()->set_name("City Gazette");
  article.mutable_source()->set_uri("https://gazette.example.org/bridge");
  article.add_tags("transport");
  article.add_tags("city");
  article.add_authors("Ana Silva");
  article.add_authors("Tom Reed");
  article.mutable_publish_time()->set_seconds(1688947200);  // 2023-07-10T00:00:00Z
  article.mutable_read_stats()->set_article("articles/harbour-bridge-reopens");
  article.mutable_read_stats()->set_reads(491);
  return article;
}

TEST(RenderArticleTest, FullArticleMatchesGolden) {
  EXPECT_EQ(RenderArticle(FullArticle()),
            "Harbour bridge reopens after repairs\n"
            "\n"
            "[Image: The bridge at dawn] Photo: Jo Park\n"
            "\n"
            "Engineers finished two weeks early, the city's transport office said\n"
            "\n"
            "The bridge carried its first traffic at dawn.\n"
            "\n"
            "Repairs covered the deck and the cables - 3 - 4 lanes reopen first.\n"
            "\n"
            "By Ana Silva, Tom Reed\n"
            "Published 2023-07-10\n"
            "Tags: transport, city\n"
            "To read more, please visit: City Gazette https://gazette.example.org/bridge\n"
            "\n"
            "Read 491 times\n");
}

TEST(RenderArticleTest, NoImageTakesNoLines) {
  v1::Article article = FullArticle();
  article.clear_lead_image();
  article.clear_subtitle();
  article.clear_body();
  EXPECT_EQ(RenderArticle(article),
            "Harbour bridge reopens after repairs\n"
            "\n"
            "By Ana Silva, Tom Reed\n"
            "Published 2023-07-10\n"
            "Tags: transport, city\n"
            "To read more, please visit: City Gazette https://gazette.example.org/bridge\n"
            "\n"
            "Read 491 times\n");
}

TEST(RenderArticleTest, ImageWithoutCaptionUsesAltTextAndOmitsMissingCredit) {
  v1::Article article;
  article.set_title("T");
  article.mutable_lead_image()->set_alt_text("A red door");
  article.mutable_read_stats()->set_reads(2);
  EXPECT_EQ(RenderArticle(article), "T\n\n[Image: A red door]\n\nRead 2 times\n");
}

TEST(RenderArticleTest, NoSourceOmitsTheLink) {
  v1::Article article = FullArticle();
  article.clear_source();
  article.clear_tags();
  article.clear_publish_time();
  const std::string page = RenderArticle(article);
  EXPECT_EQ(page.find("To read more"), std::string::npos);
  EXPECT_NE(page.find("reopen first.\n\nBy Ana Silva, Tom Reed\n\nRead 491 times\n"),
            std::string::npos)
      << page;
}

TEST(RenderArticleTest, UnsetReadStatsNeverInventsACount) {
  v1::Article article;
  article.set_title("Quiet day");
  article.set_body("Nothing happened.");
  EXPECT_EQ(RenderArticle(article), "Quiet day\n\nNothing happened.\n\nRead count unavailable\n");
}

TEST(RenderArticleTest, ZeroReadsIsACountNotUnavailable) {
  v1::Article article;
  article.set_title("New");
  article.mutable_read_stats();  // set, with zero reads
  EXPECT_EQ(RenderArticle(article), "New\n\nRead 0 times\n");
}

TEST(RenderArticleTest, OneReadIsSingular) {
  v1::Article article;
  article.set_title("Once");
  article.mutable_read_stats()->set_reads(1);
  EXPECT_EQ(RenderArticle(article), "Once\n\nRead 1 time\n");
}

TEST(RenderArticleTest, Utf8IsByteExact) {
  v1::Article article;
  article.set_title("Мост снова открыт 🌉");
  article.set_subtitle("Ð¾ — «ёлка» ✓");
  article.set_body("Первый абзац.\n\nВторой абзац 🚗🚕.");
  article.mutable_lead_image()->set_caption("Мост на рассвете");
  article.mutable_lead_image()->set_credit("Алесь Іваноў");
  article.add_authors("Ганна Коваль");
  article.mutable_source()->set_name("Газета 📰");
  article.mutable_source()->set_uri("https://example.org/мост");
  article.mutable_read_stats()->set_reads(12);
  EXPECT_EQ(RenderArticle(article),
            "Мост снова открыт 🌉\n"
            "\n"
            "[Image: Мост на рассвете] Photo: Алесь Іваноў\n"
            "\n"
            "Ð¾ — «ёлка» ✓\n"
            "\n"
            "Первый абзац.\n\nВторой абзац 🚗🚕.\n"
            "\n"
            "By Ганна Коваль\n"
            "To read more, please visit: Газета 📰 https://example.org/мост\n"
            "\n"
            "Read 12 times\n");
}

TEST(RenderArticleTest, BodyIsKeptByteForByteIncludingTrailingNewlineAndTabs) {
  v1::Article article;
  article.set_title("T");
  article.set_body("a\tb\r\n\r\nc\n");
  article.mutable_read_stats()->set_reads(3);
  // The body's own trailing newline is kept; only the missing one of the blank line is added.
  EXPECT_EQ(RenderArticle(article), "T\n\na\tb\r\n\r\nc\n\nRead 3 times\n");
}

TEST(PublishDateTest, IsUtcCalendarDate) {
  v1::Article article;
  EXPECT_EQ(PublishDate(article), "");
  article.mutable_publish_time()->set_seconds(1689033599);  // 2023-07-10T23:59:59Z
  EXPECT_EQ(PublishDate(article), "2023-07-10");
}

}  // namespace
}  // namespace newsroom::cli
