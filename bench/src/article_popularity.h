#pragma once

// Which article of the catalogue a load generator call asks for. Real readerships are heavily
// skewed (a few articles take most of the reads), and the hit rate of content-service's article
// cache depends on that skew, so articles can be drawn from a Zipf distribution instead of evenly:
// rank i (0-based) is article bench-%06d i, so bench-000000 is the most read, and rank i is drawn
// with probability proportional to 1 / (i + 1)^skew.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace newsroom::bench {

class ArticlePopularity final {
 public:
  // `articles` (at least 1) ranks; `skew` is the Zipf exponent, finite and at least 0 (0: every
  // article equally likely; 1: the k-th most read is read 1/k as often as the first). The caller
  // validates both. Skewed, it keeps one double per article.
  ArticlePopularity(int articles, double skew) : articles_(articles) {
    if (skew == 0) return;
    cumulative_.reserve(static_cast<std::size_t>(articles));
    double total = 0;
    for (int rank = 0; rank < articles; ++rank) {
      total += std::pow(rank + 1.0, -skew);
      cumulative_.push_back(total);
    }
    for (double& share : cumulative_) share /= total;
    // Exactly 1 (total / total already is): every draw, which is below 1, then lands on a rank.
    cumulative_.back() = 1.0;
  }

  // Returns the rank, in [0, articles), that `random` picks: 64 uniformly distributed bits, such
  // as Rng::Next() returns, so that a seed repeats the draws.
  [[nodiscard]] int Draw(uint64_t random) const {
    // Uniform: the modulo Rng::Below takes, so --article_skew=0 costs and draws what it always has.
    if (cumulative_.empty()) return static_cast<int>(random % static_cast<uint64_t>(articles_));
    // The top 53 bits as a double in [0, 1), exactly.
    const double uniform = static_cast<double>(random >> 11) * 0x1.0p-53;
    return static_cast<int>(std::upper_bound(cumulative_.begin(), cumulative_.end(), uniform) -
                            cumulative_.begin());
  }

  [[nodiscard]] int articles() const { return articles_; }

 private:
  int articles_;
  // Share of the draws that ranks 0..i take together, ending at 1; empty when uniform.
  std::vector<double> cumulative_;
};

}  // namespace newsroom::bench
