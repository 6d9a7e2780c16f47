#include "cli/src/args.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace newsroom::cli {
namespace {

namespace analytics = ::newsroom::analytics::v1;

constexpr char kEnvAddress[] = "10.0.0.1:7000";

absl::StatusOr<Command> Parse(std::vector<std::string> args) {
  return ParseCommandLine(args, kEnvAddress);
}

TEST(ParseCommandLineTest, NoArgumentsAndHelpAreHelp) {
  for (const auto& args : std::vector<std::vector<std::string>>{{}, {"help"}, {"--help"}, {"-h"}}) {
    auto command = Parse(args);
    ASSERT_TRUE(command.ok()) << command.status();
    EXPECT_EQ(command->verb, Verb::kHelp);
  }
}

TEST(ParseCommandLineTest, GetAcceptsIdOrName) {
  auto by_id = Parse({"get", "bridge"});
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  EXPECT_EQ(by_id->verb, Verb::kGet);
  EXPECT_EQ(by_id->article_name, "articles/bridge");
  auto by_name = Parse({"get", "articles/bridge"});
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->article_name, "articles/bridge");
}

TEST(ParseCommandLineTest, GlobalFlagsDefaultAndAnywhere) {
  auto defaults = Parse({"stats", "x"});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->address, kEnvAddress);
  EXPECT_EQ(defaults->timeout, absl::Seconds(5));
  EXPECT_FALSE(defaults->json);

  auto set = Parse({"--json", "delete", "x", "--addr=[::1]:9", "--timeout", "250ms"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->verb, Verb::kDelete);
  EXPECT_EQ(set->address, "[::1]:9");
  EXPECT_EQ(set->timeout, absl::Milliseconds(250));
  EXPECT_TRUE(set->json);
}

TEST(ParseCommandLineTest, ReadFlags) {
  auto command = Parse({"read", "x", "--reader=r 1", "--read-id", "k:1"});
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_EQ(command->verb, Verb::kRead);
  EXPECT_EQ(command->reader_id, "r 1");
  EXPECT_EQ(command->read_id, "k:1");
}

TEST(ParseCommandLineTest, WatchTakesArticlesAndADuration) {
  auto command = Parse({"watch", "a", "articles/b", "--duration=30s"});
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_EQ(command->verb, Verb::kWatch);
  EXPECT_EQ(command->article_names, (std::vector<std::string>{"articles/a", "articles/b"}));
  EXPECT_EQ(command->duration, absl::Seconds(30));
  EXPECT_EQ(Parse({"watch", "a"})->duration, absl::InfiniteDuration());
  EXPECT_EQ(Parse({"watch"}).status().message(), "'watch' needs at least one article id");
  EXPECT_FALSE(Parse({"watch", "a", "--duration=0s"}).ok());
  EXPECT_FALSE(Parse({"watch", "a", "--duration=soon"}).ok());
  EXPECT_FALSE(Parse({"stats", "a", "--duration=1s"}).ok());
}

TEST(ParseCommandLineTest, ListFlags) {
  auto command = Parse({"list", "--tag=city", "--page-size=5", "--page-token=abc="});
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_EQ(command->verb, Verb::kList);
  EXPECT_EQ(command->tag, "city");
  EXPECT_EQ(command->page_size, 5);
  EXPECT_EQ(command->page_token, "abc=");
}

TEST(ParseCommandLineTest, TopPeriods) {
  const std::pair<std::string, analytics::Period> cases[] = {
      {"all", analytics::PERIOD_ALL_TIME},
      {"day", analytics::PERIOD_LAST_DAY},
      {"7d", analytics::PERIOD_LAST_7_DAYS},
      {"30d", analytics::PERIOD_LAST_30_DAYS},
  };
  for (const auto& [flag, period] : cases) {
    auto command = Parse({"top", "--period=" + flag, "--limit=3"});
    ASSERT_TRUE(command.ok()) << command.status();
    EXPECT_EQ(command->period, period) << flag;
    EXPECT_EQ(command->limit, 3);
  }
  auto defaults = Parse({"top"});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->period, analytics::PERIOD_ALL_TIME);
  EXPECT_EQ(defaults->limit, 0);
}

TEST(ParseCommandLineTest, CreateTakesFileAndOptionalId) {
  auto command = Parse({"create", "a.json", "--id=bridge"});
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_EQ(command->verb, Verb::kCreate);
  EXPECT_EQ(command->file, "a.json");
  EXPECT_EQ(command->article_id, "bridge");
  auto without_id = Parse({"create", "a.json"});
  ASSERT_TRUE(without_id.ok());
  EXPECT_EQ(without_id->article_id, "");
}

struct BadCase {
  std::vector<std::string> args;
  std::string message;
};

TEST(ParseCommandLineTest, UsageErrorsSayWhatIsWrong) {
  const BadCase cases[] = {
      {{"fetch", "x"}, "unknown command 'fetch'"},
      {{"get", "x", "--verbose"}, "unknown flag '--verbose'"},
      {{"get", "--verbose", "x"}, "unknown flag '--verbose'"},
      {{"get", "x", "-v"}, "unknown flag '-v'"},
      {{"get", "x", "--tag=a"}, "unknown flag '--tag' for 'get'"},
      {{"get"}, "'get' needs an article id"},
      {{"create"}, "'create' needs a file"},
      {{"get", "x", "y"}, "unexpected argument 'y' for 'get'"},
      {{"list", "x"}, "unexpected argument 'x' for 'list'"},
      {{"get", "articles/"}, "the article id is empty"},
      {{"list", "--page-size=ten"}, "--page-size must be an integer, got 'ten'"},
      {{"top", "--limit=1.5"}, "--limit must be an integer, got '1.5'"},
      {{"top", "--period=week"}, "--period must be one of all, day, 7d, 30d, got 'week'"},
      {{"get", "x", "--timeout=5"}, "--timeout must be a positive duration such as 5s, got '5'"},
      {{"get", "x", "--timeout=-1s"},
       "--timeout must be a positive duration such as 5s, got '-1s'"},
      {{"get", "x", "--addr=nowhere"},
       "--addr (or NEWSROOM_ADDR) must be HOST:PORT, got 'nowhere'"},
      {{"get", "x", "--addr"}, "--addr needs a value"},
      {{"get", "x", "--json=yes"}, "--json takes no value"},
      {{"create", "a.json", "--id="}, "--id is empty"},
      {{"help", "--tag=x"}, "unknown flag '--tag'"},
  };
  for (const BadCase& c : cases) {
    auto command = Parse(c.args);
    ASSERT_FALSE(command.ok()) << c.message;
    EXPECT_EQ(command.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(command.status().message(), c.message);
  }
}

TEST(ParseCommandLineTest, BadDefaultAddressIsAUsageError) {
  auto command = ParseCommandLine({"get", "x"}, "no-port");
  EXPECT_FALSE(command.ok());
  auto overridden = ParseCommandLine({"get", "x", "--addr=127.0.0.1:1"}, "no-port");
  EXPECT_TRUE(overridden.ok());
}

TEST(UsageTextTest, ListsEveryCommand) {
  const std::string usage = UsageText();
  for (const char* verb : {"get", "read", "list", "top", "create", "delete", "stats", "help"}) {
    EXPECT_NE(usage.find(std::string("  ") + verb + " "), std::string::npos) << verb;
  }
}

}  // namespace
}  // namespace newsroom::cli
