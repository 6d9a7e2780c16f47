// ArticlePopularity, which picks the article of every load generator call: its uniform draws match
// the load generator's earlier ones, its skewed draws take the shares Zipf's law gives each rank,
// and no draw leaves the catalogue. Draws come from a fixed-seed Rng, so every count is the same
// run after run; the tolerances are a few standard deviations wide, so that they would still hold
// for another seed, and narrow enough to fail on a wrong exponent or an off-by-one rank.

#include "bench/src/article_popularity.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "bench/src/rng.h"
#include "gtest/gtest.h"

namespace newsroom::bench {
namespace {

constexpr uint64_t kSeed = 0x5eed;
constexpr uint64_t kLowest = 0;
constexpr uint64_t kHighest = std::numeric_limits<uint64_t>::max();

// How often each rank is drawn in `draws` draws from a fixed-seed Rng.
std::vector<int64_t> Counts(const ArticlePopularity& popularity, int draws) {
  std::vector<int64_t> counts(static_cast<std::size_t>(popularity.articles()));
  Rng rng(kSeed);
  for (int i = 0; i < draws; ++i)
    ++counts.at(static_cast<std::size_t>(popularity.Draw(rng.Next())));
  return counts;
}

// The share of `draws` that ranks [first, end) took.
double Share(const std::vector<int64_t>& counts, int first, int end, int draws) {
  int64_t sum = 0;
  for (int rank = first; rank < end; ++rank) sum += counts[static_cast<std::size_t>(rank)];
  return static_cast<double>(sum) / draws;
}

// The generalised harmonic number H(n, s) = sum over k = 1..n of 1 / k^s: Zipf's normaliser.
double Harmonic(int n, double s) {
  double sum = 0;
  for (int k = 1; k <= n; ++k) sum += 1 / std::pow(k, s);
  return sum;
}

TEST(ArticlePopularityTest, HarmonicNumbersAreTheKnownOnes) {
  EXPECT_NEAR(Harmonic(1000, 1), 7.485470860550345, 1e-9);
  EXPECT_NEAR(Harmonic(100, 1), 5.187377517639621, 1e-9);
}

TEST(ArticlePopularityTest, UnskewedDrawsEveryArticleEquallyOften) {
  constexpr int kArticles = 100;
  constexpr int kDraws = 200000;
  const std::vector<int64_t> counts = Counts(ArticlePopularity(kArticles, 0), kDraws);
  constexpr double kExpected = static_cast<double>(kDraws) / kArticles;  // 2000, sd about 44
  double chi_square = 0;
  for (int rank = 0; rank < kArticles; ++rank) {
    const double count = static_cast<double>(counts[static_cast<std::size_t>(rank)]);
    EXPECT_NEAR(count, kExpected, 0.1 * kExpected) << "rank " << rank;
    chi_square += (count - kExpected) * (count - kExpected) / kExpected;
  }
  // 99 degrees of freedom: mean 99, sd 14; 160 is over four of them.
  EXPECT_LT(chi_square, 160);
}

// With no skew the load generator draws exactly what Rng::Below drew before there was a skew, so
// --article_skew=0 with a --seed repeats an earlier run's articles.
TEST(ArticlePopularityTest, UnskewedDrawsAreTheOnesRngBelowMakes) {
  const ArticlePopularity popularity(1000, 0);
  Rng draws(kSeed);
  Rng below(kSeed);
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(popularity.Draw(draws.Next()), below.Below(1000));
}

TEST(ArticlePopularityTest, SkewOfOneDrawsRanksInZipfsShares) {
  constexpr int kArticles = 1000;
  constexpr int kDraws = 1000000;
  const std::vector<int64_t> counts = Counts(ArticlePopularity(kArticles, 1), kDraws);
  const double harmonic = Harmonic(kArticles, 1);
  // The most read article, bench-000000, takes 1 / H(1000) = 13.4% of the reads (sd 0.03%).
  EXPECT_NEAR(Share(counts, 0, 1, kDraws), 1 / harmonic, 0.0015);
  // The second half as many reads, the third a third as many.
  EXPECT_NEAR(static_cast<double>(counts[1]) / static_cast<double>(counts[0]), 0.5, 0.01);
  EXPECT_NEAR(static_cast<double>(counts[2]) / static_cast<double>(counts[0]), 1.0 / 3, 0.01);
  // The top 10% take H(100) / H(1000) = 69.3%, the bottom 10% about 1.4%: the tail is drawn too.
  EXPECT_NEAR(Share(counts, 0, 100, kDraws), Harmonic(100, 1) / harmonic, 0.002);
  EXPECT_NEAR(Share(counts, 900, kArticles, kDraws), (harmonic - Harmonic(900, 1)) / harmonic,
              0.0005);
  EXPECT_GT(counts[kArticles - 1], 0) << "the least read article is never drawn";
  // Popularity falls with rank (sd of each early count well under the gap to the next).
  for (int rank = 0; rank < 10; ++rank) {
    EXPECT_GT(counts[static_cast<std::size_t>(rank)], counts[static_cast<std::size_t>(rank + 1)])
        << "rank " << rank;
  }
}

TEST(ArticlePopularityTest, SkewOfTwoConcentratesReadsFurther) {
  constexpr int kArticles = 1000;
  constexpr int kDraws = 1000000;
  const std::vector<int64_t> counts = Counts(ArticlePopularity(kArticles, 2), kDraws);
  // 1 / H(1000, 2), about 1 / (pi^2 / 6) = 60.8%.
  EXPECT_NEAR(Share(counts, 0, 1, kDraws), 1 / Harmonic(kArticles, 2), 0.002);
  EXPECT_NEAR(static_cast<double>(counts[1]) / static_cast<double>(counts[0]), 0.25, 0.004);
}

TEST(ArticlePopularityTest, OneArticleIsAlwaysDrawn) {
  for (const double skew : {0.0, 0.5, 1.0, 4.0}) {
    const ArticlePopularity popularity(1, skew);
    Rng rng(kSeed);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(popularity.Draw(rng.Next()), 0) << "skew " << skew;
    EXPECT_EQ(popularity.Draw(kLowest), 0) << "skew " << skew;
    EXPECT_EQ(popularity.Draw(kHighest), 0) << "skew " << skew;
  }
}

// The extreme random values land on the first and last ranks, never outside the catalogue, even
// where the tail's shares are too small to tell apart from 1 (4 over 300 000 articles).
TEST(ArticlePopularityTest, ExtremeDrawsStayInTheCatalogue) {
  for (const int articles : {2, 7, 1000, 300000}) {
    for (const double skew : {0.0, 0.3, 1.0, 2.5, 4.0}) {
      const ArticlePopularity popularity(articles, skew);
      for (const uint64_t random : {kLowest, uint64_t{1}, kHighest - 1, kHighest}) {
        const int rank = popularity.Draw(random);
        EXPECT_GE(rank, 0) << articles << " articles, skew " << skew << ", random " << random;
        EXPECT_LT(rank, articles) << articles << " articles, skew " << skew << ", random "
                                  << random;
      }
      if (skew > 0) {
        EXPECT_EQ(popularity.Draw(kLowest), 0) << articles << " articles, skew " << skew;
      }
    }
  }
  // Under a skew of 1 the last of 1000 articles holds the top 0.013% of the range.
  EXPECT_EQ(ArticlePopularity(1000, 1).Draw(kHighest), 999);
}

}  // namespace
}  // namespace newsroom::bench
