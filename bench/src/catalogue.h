#pragma once

// The benchmark's article catalogue: make_articles writes it, load_generator asks for it, so both
// agree on which article names exist.

#include <string>

#include "absl/strings/str_format.h"

namespace newsroom::bench {

// The id of the `index`-th generated article (0-based), e.g. "bench-000042".
inline std::string BenchArticleId(int index) { return absl::StrFormat("bench-%06d", index); }

// The tags the generated articles carry, two each.
inline constexpr const char* kBenchTags[] = {"politics", "business",  "science", "sport",
                                             "culture",  "local",     "weather", "health",
                                             "travel",   "technology"};

}  // namespace newsroom::bench
