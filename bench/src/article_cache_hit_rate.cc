// The article cache's hit rate under a readership, without gRPC or a database: replays draws of
// the load generator's article popularity (--article_skew) into content-service's SecondChanceCache
// and, as the baseline, into the policy it replaced (evict whatever a hash table iterates first).
// Prints both hit rates and, for scale, that of a cache that always held the most read articles
// (the best a cache can do that does not know which reads come next, since reads are drawn
// independently). The figures do not depend on the machine's load. Second chance's is the same
// for a seed on every run; the baseline's varies from run to run, since which entry a hash table
// iterates first depends on absl's hash seed, which differs in every process: run it a few times.
//
//   article_cache_hit_rate --articles=100000 --article_skew=1 --cache_bytes=8388608

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "bench/src/article_popularity.h"
#include "bench/src/catalogue.h"
#include "bench/src/rng.h"
#include "content-service/src/second_chance_cache.h"
#include "content-service/src/stored_article.h"

ABSL_FLAG(int, articles, 100000, "catalogue size");
ABSL_FLAG(double, article_skew, 1,
          "Zipf exponent of article popularity (0: even), as load_generator's");
ABSL_FLAG(int, article_bytes, 3300,
          "stored size of every article (make_articles' are about 3.3 kB)");
ABSL_FLAG(std::size_t, cache_bytes, std::size_t{8} << 20,
          "the cache's bound (--article_cache_bytes)");
ABSL_FLAG(int, reads, 2000000, "reads replayed after the warm-up");
ABSL_FLAG(int, warmup_reads, 500000, "reads replayed first, not counted");
ABSL_FLAG(uint64_t, seed, 1, "seed of the draws");

namespace {

using newsroom::bench::ArticlePopularity;
using newsroom::bench::Rng;
using newsroom::content::SecondChanceCache;
using newsroom::content::StoredArticle;

// The article cache's policy before second chance (revision d15ffb4 and earlier): when full, drop
// the entry a flat_hash_map iterates first, whatever was read.
class ArbitraryEviction final {
 public:
  explicit ArbitraryEviction(std::size_t max_bytes) : max_bytes_(max_bytes) {}
  bool Read(const std::string& id, const StoredArticle& article) {
    if (entries_.contains(id)) return true;
    const std::size_t bytes = article.bytes().size();
    while (bytes_ + bytes > max_bytes_ && !entries_.empty()) {
      bytes_ -= entries_.begin()->second.bytes().size();
      entries_.erase(entries_.begin());
    }
    bytes_ += bytes;
    entries_.emplace(id, article);
    return false;
  }

 private:
  const std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  absl::flat_hash_map<std::string, StoredArticle> entries_;
};

// The article cache's policy as CachedArticleStore uses it: a hit marks, a miss fills.
class SecondChance final {
 public:
  explicit SecondChance(std::size_t max_bytes) : cache_(max_bytes) {}
  bool Read(const std::string& id, const StoredArticle& article) {
    if (cache_.FindAndMark(id) != nullptr) return true;
    cache_.Insert(id, article, article.bytes().size());
    return false;
  }

 private:
  SecondChanceCache<std::string, StoredArticle> cache_;
};

struct HitRates {
  double arbitrary = 0;
  double second_chance = 0;
};

HitRates Replay(const ArticlePopularity& popularity, const std::vector<std::string>& ids,
                const StoredArticle& article) {
  ArbitraryEviction arbitrary(absl::GetFlag(FLAGS_cache_bytes));
  SecondChance second_chance(absl::GetFlag(FLAGS_cache_bytes));
  Rng rng(absl::GetFlag(FLAGS_seed));
  const int warmup = absl::GetFlag(FLAGS_warmup_reads);
  const int reads = absl::GetFlag(FLAGS_reads);
  int64_t arbitrary_hits = 0;
  int64_t second_chance_hits = 0;
  for (int i = 0; i < warmup + reads; ++i) {
    const std::string& id = ids[popularity.Draw(rng.Next())];
    const bool counted = i >= warmup;
    arbitrary_hits += arbitrary.Read(id, article) && counted;
    second_chance_hits += second_chance.Read(id, article) && counted;
  }
  return {.arbitrary = static_cast<double>(arbitrary_hits) / reads,
          .second_chance = static_cast<double>(second_chance_hits) / reads};
}

// The share of reads that go to the `kept` most read articles: what a cache that always held
// exactly those would hit.
double BestHitRate(int articles, double skew, int kept) {
  double top = 0;
  double all = 0;
  for (int rank = 0; rank < articles; ++rank) {
    const double weight = std::pow(rank + 1.0, -skew);
    all += weight;
    if (rank < kept) top += weight;
  }
  return top / all;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "article_cache_hit_rate [--articles=N] [--article_skew=S] [--cache_bytes=B] "
      "[--article_bytes=B]: the article cache's hit rate, simulated");
  absl::ParseCommandLine(argc, argv);
  const int articles = absl::GetFlag(FLAGS_articles);
  const double skew = absl::GetFlag(FLAGS_article_skew);
  const int article_bytes = absl::GetFlag(FLAGS_article_bytes);
  if (articles < 1 || !(skew >= 0 && skew <= 4) || article_bytes < 1 ||
      absl::GetFlag(FLAGS_reads) < 1 || absl::GetFlag(FLAGS_warmup_reads) < 0) {
    std::fprintf(stderr,
                 "article_cache_hit_rate: --articles, --article_bytes and --reads must be at least "
                 "1, --warmup_reads at least 0, --article_skew 0 to 4\n");
    return 1;
  }
  std::vector<std::string> ids;
  ids.reserve(articles);
  for (int i = 0; i < articles; ++i) ids.push_back(newsroom::bench::BenchArticleId(i));
  const StoredArticle article(std::string(article_bytes, 'x'));  // shared: only sizes matter here
  const ArticlePopularity popularity(articles, skew);
  const HitRates rates = Replay(popularity, ids, article);
  const int kept = static_cast<int>(
      std::min<std::size_t>(absl::GetFlag(FLAGS_cache_bytes) / article_bytes, articles));
  std::printf("articles %d, skew %.2f, cache %zu bytes (%d articles of %d bytes), %d reads\n",
              articles, skew, absl::GetFlag(FLAGS_cache_bytes), kept, article_bytes,
              absl::GetFlag(FLAGS_reads));
  std::printf("hit rate: arbitrary eviction %.3f, second chance %.3f, the most read always %.3f\n",
              rates.arbitrary, rates.second_chance, BestHitRate(articles, skew, kept));
  return 0;
}
