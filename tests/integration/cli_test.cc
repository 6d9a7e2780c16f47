// The newsroom CLI against the live pair loaded with the sample articles: what a newcomer sees.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "tests/integration/pair_fixture.h"
#include "tests/support/build_paths.h"

namespace newsroom::testing {
namespace {

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout; stderr passes through to the test log
};

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    unsetenv("NEWSROOM_EDITOR_TOKEN");  // each test says whether the CLI has the token
    pair_ = new NewsroomPair({std::string("--seed=") +
                              build_paths::SourcePath("content-service/samples/articles.json")});
  }
  static void TearDownTestSuite() {
    delete pair_;
    pair_ = nullptr;
  }

  // `env` (NAME=VALUE) is added to the CLI's environment, e.g. NEWSROOM_EDITOR_TOKEN.
  static CliResult Cli(std::vector<std::string> args, std::vector<std::string> env = {}) {
    std::vector<std::string> argv{build_paths::kCli, "--addr=" + pair_->content_address()};
    for (auto& arg : args) argv.push_back(std::move(arg));
    ChildProcess process(argv, std::move(env));
    CliResult result;
    result.exit_code = process.Wait(std::chrono::seconds(20)).value_or(-1);
    for (const auto& line : process.lines()) result.out += line + "\n";
    return result;
  }

  static NewsroomPair* pair_;
};

NewsroomPair* CliTest::pair_ = nullptr;

std::string LastLine(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  return lines.empty() ? "" : lines.back();
}

TEST_F(CliTest, SampleArticlesAreLoadedOnFirstStart) {
  const CliResult list = Cli({"list", "--page-size=100"});
  ASSERT_EQ(list.exit_code, 0);
  std::vector<std::string> lines = absl::StrSplit(list.out, '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 6u) << list.out;
  EXPECT_TRUE(absl::StrContains(list.out, "articles/harbour-line-reopens")) << list.out;
}

TEST_F(CliTest, ReadPrintsTheArticleEndingWithItsReadCount) {
  const CliResult first = Cli({"read", "harbour-line-reopens", "--reader=alice"});
  ASSERT_EQ(first.exit_code, 0);
  EXPECT_TRUE(absl::StartsWith(first.out, "Harbour line reopens after an eight-month rebuild\n"))
      << first.out;
  EXPECT_TRUE(absl::StrContains(first.out, "To read more, please visit: ")) << first.out;
  // The Cyrillic image credit comes through byte for byte.
  EXPECT_TRUE(absl::StrContains(first.out, "\xd0\x9e\xd0\xbb\xd0\xb5\xd0\xbd\xd0\xb0"))
      << first.out;
  EXPECT_EQ(LastLine(first.out), "Read 1 time");

  const CliResult second = Cli({"read", "harbour-line-reopens", "--reader=bob"});
  ASSERT_EQ(second.exit_code, 0);
  EXPECT_EQ(LastLine(second.out), "Read 2 times");

  const CliResult get = Cli({"get", "harbour-line-reopens"});
  ASSERT_EQ(get.exit_code, 0);
  EXPECT_EQ(LastLine(get.out), "Read 2 times");  // get counts nothing

  const CliResult top = Cli({"top", "--period=day"});
  ASSERT_EQ(top.exit_code, 0);
  EXPECT_TRUE(absl::StartsWith(top.out, "1\t2\tHarbour line reopens")) << top.out;
}

TEST_F(CliTest, ErrorsAreOneLineAndNonZero) {
  EXPECT_EQ(Cli({"get", "no-such-article"}).exit_code, 1);
  EXPECT_EQ(Cli({"get", "Not_Valid"}).exit_code, 1);
  EXPECT_EQ(Cli({"frobnicate"}).exit_code, 2);
}

TEST_F(CliTest, CreateAndDeleteSendTheEditorToken) {
  TempDir dir;
  const std::string file = dir.path() + "/article.json";
  std::ofstream(file) << R"({"title": "From the CLI", "language": "en", "tags": ["local"]})";

  // Without a token the CLI refuses before calling, and says where the token goes.
  EXPECT_EQ(Cli({"create", file, "--id=cli-created"}).exit_code, 2);

  const CliResult created =
      Cli({"--token-file=" + pair_->editor_token_file(), "create", file, "--id=cli-created"});
  ASSERT_EQ(created.exit_code, 0);
  EXPECT_EQ(created.out, "Created articles/cli-created\n");

  // A wrong token reaches the server and is refused there.
  EXPECT_EQ(
      Cli({"delete", "cli-created"}, {"NEWSROOM_EDITOR_TOKEN=not-the-editor-token"}).exit_code, 1);
  const CliResult deleted =
      Cli({"delete", "cli-created"}, {"NEWSROOM_EDITOR_TOKEN=" + pair_->editor_token()});
  ASSERT_EQ(deleted.exit_code, 0);
  EXPECT_EQ(deleted.out, "Deleted articles/cli-created\n");
}

}  // namespace
}  // namespace newsroom::testing
