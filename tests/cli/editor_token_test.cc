#include "cli/src/editor_token.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/src/args.h"

namespace newsroom::cli {
namespace {

std::string WriteFile(const std::string& name, const std::string& contents) {
  const std::string path =
      (std::filesystem::path(::testing::TempDir()) / absl::StrCat("cli_token.", getpid(), name))
          .string();
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

TEST(ResolveEditorTokenTest, FileWinsOverEnvAndLosesOneNewline) {
  const std::string path = WriteFile("a", "file-token-0123456789\n");
  auto token = ResolveEditorToken(path, "env-token-0123456789");
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "file-token-0123456789");
  std::remove(path.c_str());
}

TEST(ResolveEditorTokenTest, EnvWhenNoFileAndEmptyWhenNeither) {
  EXPECT_EQ(*ResolveEditorToken("", "env-token-0123456789"), "env-token-0123456789");
  EXPECT_EQ(*ResolveEditorToken("", ""), "");
}

TEST(ResolveEditorTokenTest, MissingOrEmptyFileIsAnErrorNamingIt) {
  const std::string missing = WriteFile("missing", "");
  std::remove(missing.c_str());
  auto token = ResolveEditorToken(missing, "env-token-0123456789");
  ASSERT_FALSE(token.ok());
  EXPECT_TRUE(absl::StrContains(token.status().message(), "--token-file=" + missing));

  const std::string empty = WriteFile("empty", "\n");
  EXPECT_FALSE(ResolveEditorToken(empty, "").ok());
  std::remove(empty.c_str());
}

TEST(ParseCommandLineTest, TokenFileIsAGlobalFlag) {
  auto command = ParseCommandLine({"create", "a.json", "--token-file=/run/token"}, "h:1");
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_EQ(command->token_file, "/run/token");
  command = ParseCommandLine({"--token-file", "/run/token", "delete", "x"}, "h:1");
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_EQ(command->token_file, "/run/token");
  EXPECT_FALSE(ParseCommandLine({"delete", "x", "--token-file="}, "h:1").ok());
}

}  // namespace
}  // namespace newsroom::cli
