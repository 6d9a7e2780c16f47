// Editor authentication over real gRPC: which callers may create, update and delete articles, and
// that reading needs no token. Reports the rejection matrix as a figure.

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "tests/integration/pair_fixture.h"
#include "tests/support/build_paths.h"

namespace newsroom::testing {
namespace {

// A caller that sends exactly the authorization header it is given ("" for none).
class Caller final {
 public:
  explicit Caller(const std::string& address)
      : stub_(content_v1::ContentService::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {}

  grpc::Status Create(const std::string& id, const std::string& authorization) {
    content_v1::CreateArticleRequest request;
    request.set_article_id(id);
    *request.mutable_article() = SampleArticle("Editor auth " + id);
    content_v1::Article created;
    return stub_->CreateArticle(Authorized(authorization).get(), request, &created);
  }

  grpc::Status Update(const std::string& id, const std::string& authorization) {
    content_v1::UpdateArticleRequest request;
    request.mutable_article()->set_name("articles/" + id);
    request.mutable_article()->set_title("Updated " + id);
    request.mutable_update_mask()->add_paths("title");
    content_v1::Article updated;
    return stub_->UpdateArticle(Authorized(authorization).get(), request, &updated);
  }

  grpc::Status Delete(const std::string& id, const std::string& authorization) {
    content_v1::DeleteArticleRequest request;
    request.set_name("articles/" + id);
    google::protobuf::Empty empty;
    return stub_->DeleteArticle(Authorized(authorization).get(), request, &empty);
  }

  content_v1::ContentService::Stub& stub() { return *stub_; }

 private:
  static std::unique_ptr<grpc::ClientContext> Authorized(const std::string& authorization) {
    auto context = Context();
    if (!authorization.empty()) context->AddMetadata("authorization", authorization);
    return context;
  }

  std::unique_ptr<content_v1::ContentService::Stub> stub_;
};

class EditorAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The services inherit this process's environment; a token there would change what is tested.
    unsetenv("EDITOR_TOKEN");
    unsetenv("EDITOR_TOKEN_FILE");
    pair_ = new NewsroomPair();
  }
  static void TearDownTestSuite() {
    delete pair_;
    pair_ = nullptr;
  }

  static NewsroomPair* pair_;
};

NewsroomPair* EditorAuthTest::pair_ = nullptr;

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    default:
      return "other";
  }
}

TEST_F(EditorAuthTest, RejectionMatrix) {
  Caller caller(pair_->content_address());
  const std::string token = pair_->editor_token();
  std::string wrong = token;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  struct Case {
    std::string name;
    std::string header;
    grpc::StatusCode expected;
  };
  const Case cases[] = {
      {"no authorization header", "", grpc::StatusCode::UNAUTHENTICATED},
      {"Bearer with an empty token", "Bearer ", grpc::StatusCode::UNAUTHENTICATED},
      {"wrong scheme (Basic)", "Basic " + token, grpc::StatusCode::UNAUTHENTICATED},
      {"wrong token, same length", "Bearer " + wrong, grpc::StatusCode::PERMISSION_DENIED},
      {"token of another length", "Bearer " + token + "0", grpc::StatusCode::PERMISSION_DENIED},
      {"prefix of the token", "Bearer " + token.substr(0, 16), grpc::StatusCode::PERMISSION_DENIED},
      {"right token", "Bearer " + token, grpc::StatusCode::OK},
  };
  int as_expected = 0;
  int index = 0;
  for (const Case& c : cases) {
    const std::string id = absl::StrCat("auth-matrix-", index++);
    const grpc::Status status = caller.Create(id, c.header);
    EXPECT_EQ(status.error_code(), c.expected) << c.name << ": " << status.error_message();
    if (status.error_code() == c.expected) ++as_expected;
    std::printf("  %-28s %-18s (expected %s)\n", c.name.c_str(), CodeName(status.error_code()),
                CodeName(c.expected));
    if (c.expected == grpc::StatusCode::UNAUTHENTICATED) {
      EXPECT_EQ(status.error_message(),
                "editor token required: send 'authorization: Bearer <token>'");
    }
  }
  const int total = static_cast<int>(std::size(cases));
  std::printf("editor auth: %d cases, %d as expected\n", total, as_expected);
  EXPECT_EQ(as_expected, total);
}

TEST_F(EditorAuthTest, UpdateAndDeleteNeedTheTokenToo) {
  Caller caller(pair_->content_address());
  const std::string bearer = "Bearer " + pair_->editor_token();
  ASSERT_TRUE(caller.Create("auth-update-delete", bearer).ok());

  EXPECT_EQ(caller.Update("auth-update-delete", "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(caller.Update("auth-update-delete", "Bearer not-the-editor-token").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const grpc::Status updated = caller.Update("auth-update-delete", bearer);
  EXPECT_TRUE(updated.ok()) << updated.error_message();

  EXPECT_EQ(caller.Delete("auth-update-delete", "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(caller.Delete("auth-update-delete", "Bearer not-the-editor-token").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(caller.Delete("auth-update-delete", bearer).ok());
}

TEST_F(EditorAuthTest, ReadingNeedsNoToken) {
  Caller caller(pair_->content_address());
  ASSERT_TRUE(caller.Create("auth-readable", "Bearer " + pair_->editor_token()).ok());
  auto& stub = caller.stub();

  content_v1::GetArticleRequest get;
  get.set_name("articles/auth-readable");
  content_v1::Article article;
  EXPECT_TRUE(stub.GetArticle(Context().get(), get, &article).ok());

  content_v1::ReadArticleRequest read;
  read.set_name("articles/auth-readable");
  read.set_reader_id("anonymous");
  EXPECT_TRUE(stub.ReadArticle(Context().get(), read, &article).ok());

  content_v1::ListArticlesRequest list;
  content_v1::ListArticlesResponse page;
  EXPECT_TRUE(stub.ListArticles(Context().get(), list, &page).ok());

  content_v1::ListMostReadArticlesRequest top;
  content_v1::ListMostReadArticlesResponse ranking;
  EXPECT_TRUE(stub.ListMostReadArticles(Context().get(), top, &ranking).ok());
}

TEST_F(EditorAuthTest, RewrittenTokenFileTakesOverWithoutARestart) {
  Caller caller(pair_->content_address());
  const std::string old_bearer = "Bearer " + pair_->editor_token();
  const std::string rotated = "rotated-editor-token-0123456789";
  {
    // Written beside it and renamed over it, as a secret mount or a careful operator does.
    const std::string staging = pair_->editor_token_file() + ".new";
    std::ofstream(staging) << rotated << "\n";
    ASSERT_EQ(std::rename(staging.c_str(), pair_->editor_token_file().c_str()), 0);
  }
  int attempt = 0;
  // Checked at most once a second, so the new token works within about a second.
  EXPECT_TRUE(Eventually(
      [&] {
        return caller.Create(absl::StrCat("auth-rotated-", attempt++), "Bearer " + rotated).ok();
      },
      std::chrono::seconds(5)));
  EXPECT_EQ(caller.Create("auth-old-token", old_bearer).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Put back for the other tests (and the fixture's own channel).
  {
    const std::string staging = pair_->editor_token_file() + ".new";
    std::ofstream(staging) << pair_->editor_token() << "\n";
    ASSERT_EQ(std::rename(staging.c_str(), pair_->editor_token_file().c_str()), 0);
  }
  EXPECT_TRUE(Eventually(
      [&] { return caller.Create(absl::StrCat("auth-restored-", attempt++), old_bearer).ok(); },
      std::chrono::seconds(5)));
}

TEST(EditorAuthStartTest, WithoutATokenWritesAreRefusedAndReadsServed) {
  unsetenv("EDITOR_TOKEN");
  unsetenv("EDITOR_TOKEN_FILE");
  TempDir dir;
  // analytics-service is not needed: content-service starts and serves without it.
  auto started = StartService(build_paths::kContentService,
                              {"--analytics=127.0.0.1:1", "--db=" + dir.path() + "/content.db"});
  Caller caller(started.address());
  int refused = 0;
  for (const std::string& header :
       {std::string(), std::string("Bearer anything-at-all-0123456789")}) {
    const grpc::Status status = caller.Create("no-token", header);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << header;
    EXPECT_EQ(status.error_message(),
              "writes are disabled: content-service has no editor token configured");
    refused += status.error_code() == grpc::StatusCode::PERMISSION_DENIED;
  }
  refused += caller.Delete("no-token", "").error_code() == grpc::StatusCode::PERMISSION_DENIED;
  std::printf("editor auth, no token configured: 3 writes, %d refused\n", refused);
  EXPECT_EQ(refused, 3);
  content_v1::ListArticlesRequest list;
  content_v1::ListArticlesResponse page;
  EXPECT_TRUE(caller.stub().ListArticles(Context().get(), list, &page).ok());
}

TEST(EditorAuthStartTest, ShortTokenIsRefusedAtStart) {
  TempDir dir;
  const std::string token_file = dir.path() + "/token";
  std::ofstream(token_file) << "changeme\n";
  ChildProcess process({build_paths::kContentService, "--listen=127.0.0.1:0",
                        "--analytics=127.0.0.1:1", "--db=" + dir.path() + "/content.db",
                        "--editor_token_file=" + token_file});
  EXPECT_EQ(process.Wait(std::chrono::seconds(10)), 1);
}

}  // namespace
}  // namespace newsroom::testing
