#include "content-service/src/editor_auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"

namespace newsroom::content {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "0123456789abcdef-editor-token";

// A file path under the test's temp dir, removed at the end of the test.
class TempFile final {
 public:
  TempFile() {
    static std::atomic<int> counter{0};
    path_ = (std::filesystem::path(::testing::TempDir()) /
             absl::StrCat("editor_auth_test.", getpid(), ".", counter++, ".token"))
                .string();
  }
  ~TempFile() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  // Replaces the file (a new inode, as a rotation by rename would).
  void Write(const std::string& contents) const {
    const std::string staging = path_ + ".new";
    std::ofstream(staging, std::ios::binary) << contents;
    std::filesystem::rename(staging, path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<EditorAuth> FromEnvToken(const std::string& token) {
  auto auth = EditorAuth::FromConfig({.token = token});
  EXPECT_TRUE(auth.ok()) << auth.status();
  return auth.ok() ? *std::move(auth) : nullptr;
}

TEST(EditorAuthTest, RejectionMatrix) {
  const auto auth = FromEnvToken(kToken);
  ASSERT_NE(auth, nullptr);
  const std::string right = kToken;
  struct Case {
    std::string name;
    std::string header;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {"no header", "", absl::StatusCode::kUnauthenticated},
      {"scheme only", "Bearer", absl::StatusCode::kUnauthenticated},
      {"empty token", "Bearer ", absl::StatusCode::kUnauthenticated},
      {"wrong scheme", "Basic " + right, absl::StatusCode::kUnauthenticated},
      {"no space", "Bearer" + right, absl::StatusCode::kUnauthenticated},
      {"token alone", right, absl::StatusCode::kUnauthenticated},
      {"two tokens", "Bearer " + right + " " + right, absl::StatusCode::kUnauthenticated},
      {"wrong token, same length", "Bearer " + std::string(right.size(), 'x'),
       absl::StatusCode::kPermissionDenied},
      {"right token's prefix", "Bearer " + right.substr(0, right.size() - 1),
       absl::StatusCode::kPermissionDenied},
      {"right token plus a byte", "Bearer " + right + "x", absl::StatusCode::kPermissionDenied},
      {"right token, other case", "Bearer " + std::string("0123456789ABCDEF-editor-token"),
       absl::StatusCode::kPermissionDenied},
      {"right token", "Bearer " + right, absl::StatusCode::kOk},
      {"scheme in lower case", "bearer " + right, absl::StatusCode::kOk},
      {"extra spaces", "Bearer   " + right + " ", absl::StatusCode::kOk},
  };
  for (const Case& c : cases) {
    const absl::Status status = auth->Authorize(c.header);
    EXPECT_EQ(status.code(), c.code) << c.name << ": " << status;
    // The refusal never echoes the token back.
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(right))) << c.name;
  }
}

TEST(EditorAuthTest, MissingTokenSaysHowToSendOne) {
  const auto auth = FromEnvToken(kToken);
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->Authorize("").message(),
            "editor token required: send 'authorization: Bearer <token>'");
}

TEST(EditorAuthTest, WithoutATokenEveryWriteIsRefused) {
  auto auth = EditorAuth::FromConfig({});
  ASSERT_TRUE(auth.ok()) << auth.status();
  EXPECT_FALSE((*auth)->enabled());
  EXPECT_EQ((*auth)->source(), "");
  for (const std::string& header :
       {std::string(), std::string("Bearer "), std::string("Bearer ") + kToken}) {
    const absl::Status status = (*auth)->Authorize(header);
    EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << header;
    EXPECT_EQ(status.message(),
              "writes are disabled: content-service has no editor token configured");
  }
}

TEST(EditorAuthTest, BadTokensAreRefusedAtStartWithoutShowingThem) {
  const std::string too_long(EditorAuth::kMaxTokenBytes + 1, 'a');
  for (const std::string& token :
       {std::string("short"), std::string(15, 'a'), too_long, std::string("has a space in it!"),
        std::string("tab\there-16bytes"), std::string("caf\xc3\xa9-not-ascii-token")}) {
    auto auth = EditorAuth::FromConfig({.token = token});
    ASSERT_FALSE(auth.ok()) << token;
    EXPECT_EQ(auth.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(auth.status().message()), HasSubstr("EDITOR_TOKEN"));
    EXPECT_THAT(std::string(auth.status().message()), Not(HasSubstr(token)));
  }
  EXPECT_TRUE(EditorAuth::FromConfig({.token = std::string(16, 'a')}).ok());
}

TEST(EditorAuthTest, FileAndEnvTogetherAreRefused) {
  TempFile file;
  file.Write(kToken);
  auto auth = EditorAuth::FromConfig({.token_file = file.path(), .token = kToken});
  ASSERT_FALSE(auth.ok());
  EXPECT_THAT(std::string(auth.status().message()), HasSubstr("both set"));
}

TEST(EditorAuthTest, TokenFileLosesOneTrailingNewline) {
  for (const char* ending : {"", "\n", "\r\n"}) {
    TempFile file;
    file.Write(std::string(kToken) + ending);
    auto auth = EditorAuth::FromConfig({.token_file = file.path()});
    ASSERT_TRUE(auth.ok()) << auth.status();
    EXPECT_EQ((*auth)->source(), "--editor_token_file=" + file.path());
    EXPECT_TRUE((*auth)->Authorize(std::string("Bearer ") + kToken).ok());
  }
  TempFile two_newlines;
  two_newlines.Write(std::string(kToken) + "\n\n");
  auto auth = EditorAuth::FromConfig({.token_file = two_newlines.path()});
  EXPECT_EQ(auth.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EditorAuthTest, UnreadableOrEmptyFileIsRefusedNamingTheFlag) {
  TempFile missing;
  auto auth = EditorAuth::FromConfig({.token_file = missing.path()});
  ASSERT_FALSE(auth.ok());
  EXPECT_THAT(std::string(auth.status().message()),
              HasSubstr("--editor_token_file=" + missing.path() + ": cannot read"));

  TempFile empty;
  empty.Write("\n");
  auth = EditorAuth::FromConfig({.token_file = empty.path()});
  ASSERT_FALSE(auth.ok());
  EXPECT_THAT(std::string(auth.status().message()), HasSubstr("at least 16 bytes"));
}

TEST(EditorAuthTest, ChangedTokenFileIsReadAgain) {
  TempFile file;
  file.Write(std::string(kToken) + "\n");
  auto auth =
      EditorAuth::FromConfig({.token_file = file.path(), .reload_interval = absl::ZeroDuration()});
  ASSERT_TRUE(auth.ok()) << auth.status();
  const std::string rotated = "a-new-token-after-rotation";
  file.Write(rotated + "\n");
  EXPECT_TRUE((*auth)->Authorize("Bearer " + rotated).ok());
  EXPECT_EQ((*auth)->Authorize(std::string("Bearer ") + kToken).code(),
            absl::StatusCode::kPermissionDenied);

  // An unusable or missing file keeps the token that works, rather than locking editors out.
  file.Write("short\n");
  EXPECT_TRUE((*auth)->Authorize("Bearer " + rotated).ok());
  std::filesystem::remove(file.path());
  EXPECT_TRUE((*auth)->Authorize("Bearer " + rotated).ok());
}

TEST(EditorAuthTest, TokenFileIsCheckedAtMostOncePerInterval) {
  TempFile file;
  file.Write(kToken);
  auto auth =
      EditorAuth::FromConfig({.token_file = file.path(), .reload_interval = absl::Hours(1)});
  ASSERT_TRUE(auth.ok()) << auth.status();
  file.Write("a-new-token-after-rotation");
  EXPECT_TRUE((*auth)->Authorize(std::string("Bearer ") + kToken).ok());
}

}  // namespace
}  // namespace newsroom::content
