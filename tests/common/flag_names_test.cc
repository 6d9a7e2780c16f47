#include "common/src/flag_names.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace newsroom {
namespace {

using ::testing::ElementsAre;

TEST(FlagNamesTest, NormalizesDashedFlagNamesOnly) {
  std::vector<std::string> args = {
      "bin", "--key-prefix=a-b", "-redis-pool-size", "2", "--listen=x:1", "--", "--not-flag"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  EXPECT_THAT(NormalizeFlagNames(static_cast<int>(argv.size()), argv.data()),
              ElementsAre("bin", "--key_prefix=a-b", "-redis_pool_size", "2", "--listen=x:1", "--",
                          "--not-flag"));
}

}  // namespace
}  // namespace newsroom
