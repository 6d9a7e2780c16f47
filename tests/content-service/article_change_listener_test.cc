// ArticleChangeListener against a real PostgreSQL server: what the schema's trigger announces,
// and how the listener behaves when its connection is killed, frozen or the server restarts.

#include "content-service/src/article_change_listener.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "content-service/src/postgres_article_store.h"
#include "tests/content-service/titled_article.h"
#include "tests/support/postgres_server.h"
#include "tests/support/waiting.h"

namespace newsroom::content {
namespace {

using ::newsroom::testing::Eventually;
using ::newsroom::testing::PostgresServer;
using ::testing::HasSubstr;
using ::testing::Not;

// What the callbacks saw, in order: "listening", "changed:ID" or "lost".
class Events {
 public:
  ArticleChangeCallbacks Callbacks() {
    return {.on_listening = [this] { Add("listening"); },
            .on_changed = [this](absl::string_view id) { Add("changed:" + std::string(id)); },
            .on_lost = [this](const absl::Status&) { Add("lost"); }};
  }
  std::vector<std::string> Get() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  int Count(const std::string& event) {
    int n = 0;
    for (const std::string& seen : Get()) n += seen == event ? 1 : 0;
    return n;
  }
  // Waits until `event` has been seen `times` times in all.
  bool WaitFor(const std::string& event, int times = 1) {
    return Eventually([&] { return Count(event) >= times; }, std::chrono::seconds(20));
  }

 private:
  void Add(std::string event) {
    absl::MutexLock lock(&mu_);
    events_.push_back(std::move(event));
  }
  absl::Mutex mu_;
  std::vector<std::string> events_;
};

class ArticleChangeListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.url = postgres_.Url("newsroom");
    options_.password = postgres_.password();
    auto store = PostgresArticleStore::Open(options_);  // migrates: the trigger is in place
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // By default with a ping timeout long enough that a stalled test machine cannot make the
  // listener give up on a healthy connection (the tests count losses).
  std::unique_ptr<ArticleChangeListener> Listen(ArticleChangeListenerOptions options = {
                                                    .ping_timeout = absl::Seconds(10)}) {
    return std::make_unique<ArticleChangeListener>(options_, events_.Callbacks(), options);
  }

  // The listener's server process, found by its application_name.
  std::vector<std::string> ListenerBackends() {
    return postgres_.Execute("newsroom",
                             "SELECT pid FROM pg_stat_activity "
                             "WHERE application_name = 'content-service-changes'");
  }

  PostgresServer postgres_;
  PostgresOptions options_;
  std::unique_ptr<PostgresArticleStore> store_;
  Events events_;
};

TEST_F(ArticleChangeListenerTest, AnnouncesEveryWriteOnceListening) {
  auto listener = Listen();
  ASSERT_TRUE(events_.WaitFor("listening"));

  ASSERT_TRUE(store_->Create(TitledArticle("created", "One", "e1")).ok());
  ASSERT_TRUE(events_.WaitFor("changed:created"));
  ASSERT_TRUE(store_->Replace(TitledArticle("created", "Two", "e2"), "e1").ok());
  ASSERT_TRUE(events_.WaitFor("changed:created", 2));
  ASSERT_TRUE(store_->Delete("created").ok());
  ASSERT_TRUE(events_.WaitFor("changed:created", 3));

  // Writes that do not go through content-service at all are announced too (the trigger).
  ASSERT_TRUE(store_->Create(TitledArticle("by-hand", "Three", "e1")).ok());
  postgres_.Execute("newsroom", "UPDATE articles SET etag = 'edited' WHERE article_id = 'by-hand'");
  ASSERT_TRUE(events_.WaitFor("changed:by-hand", 2));
  postgres_.Execute("newsroom", "TRUNCATE articles");
  ASSERT_TRUE(events_.WaitFor("changed:"));  // every article

  // A write rolled back is not announced: after a committed marker, nothing of it arrived.
  postgres_.Execute("newsroom",
                    "BEGIN; INSERT INTO articles VALUES ('rolled-back', 0, 0, 'e', ''); ROLLBACK");
  ASSERT_TRUE(store_->Create(TitledArticle("marker", "Four", "e1")).ok());
  ASSERT_TRUE(events_.WaitFor("changed:marker"));
  EXPECT_EQ(events_.Count("changed:rolled-back"), 0);
  EXPECT_EQ(events_.Count("lost"), 0);
}

// A database set up before announcements existed (the previous release's schema, same version)
// gets the trigger when a store opens it, without a schema version of its own: a replica of that
// release can still restart on it.
TEST_F(ArticleChangeListenerTest, AStoreOpeningADatabaseWithoutTheTriggerAddsIt) {
  postgres_.Execute("newsroom",
                    "DROP TRIGGER articles_notify_changed ON articles; "
                    "DROP TRIGGER articles_notify_truncated ON articles; "
                    "DROP FUNCTION newsroom_notify_article_changed()");
  auto listener = Listen();
  ASSERT_TRUE(events_.WaitFor("listening"));
  ASSERT_TRUE(store_->Create(TitledArticle("unannounced", "One", "e1")).ok());

  auto reopened = PostgresArticleStore::Open(options_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(postgres_.Execute("newsroom", "SELECT version FROM content_schema_version"),
            std::vector<std::string>{std::to_string(PostgresArticleStore::kSchemaVersion)});
  ASSERT_TRUE((*reopened)->Create(TitledArticle("announced", "Two", "e1")).ok());
  ASSERT_TRUE(events_.WaitFor("changed:announced"));
  EXPECT_EQ(events_.Count("changed:unannounced"), 0);
  // Opening again finds it in place and leaves it alone: one announcement per change.
  ASSERT_TRUE(PostgresArticleStore::Open(options_).ok());
  ASSERT_TRUE((*reopened)->Delete("announced").ok());
  ASSERT_TRUE((*reopened)->Create(TitledArticle("marker", "Three", "e1")).ok());
  ASSERT_TRUE(events_.WaitFor("changed:marker"));
  EXPECT_EQ(events_.Count("changed:announced"), 2);
}

// Either trigger missing alone (a half-finished manual repair) is made again, and the other left
// as it is.
TEST_F(ArticleChangeListenerTest, AStoreOpeningADatabaseMissingOneTriggerAddsThatOne) {
  auto listener = Listen();
  ASSERT_TRUE(events_.WaitFor("listening"));
  postgres_.Execute("newsroom", "DROP TRIGGER articles_notify_truncated ON articles");
  ASSERT_TRUE(PostgresArticleStore::Open(options_).ok());
  postgres_.Execute("newsroom", "TRUNCATE articles");
  ASSERT_TRUE(events_.WaitFor("changed:"));

  postgres_.Execute("newsroom", "DROP TRIGGER articles_notify_changed ON articles");
  auto reopened = PostgresArticleStore::Open(options_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ASSERT_TRUE((*reopened)->Create(TitledArticle("row-trigger-back", "Title", "e1")).ok());
  ASSERT_TRUE(events_.WaitFor("changed:row-trigger-back"));
  EXPECT_EQ(events_.Count("changed:row-trigger-back"), 1);
}

// A disabled trigger (an operator's ALTER TABLE ... DISABLE TRIGGER) is left as it is, since
// someone chose it, but opening the store says so, naming the trigger: its changes go unannounced.
TEST_F(ArticleChangeListenerTest, AStoreOpeningADatabaseWithADisabledTriggerWarnsAndLeavesIt) {
  postgres_.Execute("newsroom", "ALTER TABLE articles DISABLE TRIGGER articles_notify_changed");
  ::testing::internal::CaptureStderr();
  auto reopened = PostgresArticleStore::Open(options_);
  const std::string warned = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_THAT(warned, HasSubstr("a change trigger on articles is disabled"));
  EXPECT_THAT(warned, HasSubstr("articles_notify_changed"));
  EXPECT_THAT(warned, Not(HasSubstr("articles_notify_truncated")));
  EXPECT_EQ(postgres_.Execute("newsroom",
                              "SELECT tgenabled FROM pg_trigger "
                              "WHERE tgname = 'articles_notify_changed'"),
            std::vector<std::string>{"D"});

  // Enabled again, the store opens without a word about it.
  postgres_.Execute("newsroom", "ALTER TABLE articles ENABLE TRIGGER articles_notify_changed");
  ::testing::internal::CaptureStderr();
  const bool opened = PostgresArticleStore::Open(options_).ok();
  const std::string silent = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(opened);
  EXPECT_THAT(silent, Not(HasSubstr("a change trigger on articles is disabled")));
}

// Its pings go to the channel it listens to and must arrive: a path that loses announcements
// (here stood for by pings sent to a channel nobody listens to) is never trusted.
TEST_F(ArticleChangeListenerTest, APathThatLosesItsPingsIsNeverTrusted) {
  auto listener = Listen({.ping_timeout = absl::Milliseconds(200),
                          .reconnect_delay = absl::Milliseconds(50),
                          .max_reconnect_delay = absl::Milliseconds(100),
                          .ping_channel = "not_listened_to"});
  std::this_thread::sleep_for(std::chrono::seconds(1));  // several attempts
  EXPECT_TRUE(events_.Get().empty());
}

// Another listener's pings reach this one but are not its own: they do not make a path that loses
// its own pings trusted.
TEST_F(ArticleChangeListenerTest, AnotherListenersPingsDoNotStandForItsOwn) {
  Events other_events;
  ArticleChangeListener other(options_, other_events.Callbacks(),
                              {.ping_interval = absl::Milliseconds(20)});
  ASSERT_TRUE(other_events.WaitFor("listening"));
  auto listener = Listen({.ping_timeout = absl::Milliseconds(300),
                          .reconnect_delay = absl::Milliseconds(50),
                          .max_reconnect_delay = absl::Milliseconds(100),
                          .ping_channel = "not_listened_to"});
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_TRUE(events_.Get().empty());
}

// Every replica's pings reach every other: they are not announcements of any article.
TEST_F(ArticleChangeListenerTest, OtherListenersPingsAnnounceNothing) {
  Events other_events;
  ArticleChangeListener other(options_, other_events.Callbacks(),
                              {.ping_interval = absl::Milliseconds(20)});
  auto listener =
      Listen({.ping_interval = absl::Milliseconds(20), .ping_timeout = absl::Seconds(10)});
  ASSERT_TRUE(events_.WaitFor("listening"));
  ASSERT_TRUE(other_events.WaitFor("listening"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the other pings when quiet
  ASSERT_TRUE(store_->Create(TitledArticle("after-pings", "Title", "e1")).ok());
  ASSERT_TRUE(events_.WaitFor("changed:after-pings"));
  EXPECT_EQ(events_.Get(), (std::vector<std::string>{"listening", "changed:after-pings"}));
}

TEST_F(ArticleChangeListenerTest, AKilledConnectionIsReportedLostThenListensAgain) {
  auto listener = Listen();
  ASSERT_TRUE(events_.WaitFor("listening"));
  ASSERT_EQ(ListenerBackends().size(), 1u);
  postgres_.Execute("newsroom",
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'content-service-changes'");
  ASSERT_TRUE(events_.WaitFor("lost"));
  ASSERT_TRUE(events_.WaitFor("listening", 2));
  // Lost comes before listening again, never the other way round.
  const std::vector<std::string> seen = events_.Get();
  EXPECT_EQ(seen, (std::vector<std::string>{"listening", "lost", "listening"}));

  ASSERT_TRUE(store_->Create(TitledArticle("after", "Title", "e1")).ok());
  EXPECT_TRUE(events_.WaitFor("changed:after"));
}

TEST_F(ArticleChangeListenerTest, AConnectionThatStopsAnsweringIsReportedLost) {
  // A frozen server process stands for a network partition: the socket stays open, nothing comes.
  auto listener = Listen({.ping_interval = absl::Milliseconds(100),
                          .ping_timeout = absl::Milliseconds(300),
                          .reconnect_delay = absl::Milliseconds(50)});
  ASSERT_TRUE(events_.WaitFor("listening"));
  const std::vector<std::string> backends = ListenerBackends();
  ASSERT_EQ(backends.size(), 1u);
  const pid_t frozen = std::stoi(backends[0]);
  ASSERT_EQ(kill(frozen, SIGSTOP), 0);
  const bool lost = events_.WaitFor("lost");
  kill(frozen, SIGCONT);
  ASSERT_TRUE(lost);
  // It reconnects on a new connection (the frozen one may linger until it notices).
  EXPECT_TRUE(events_.WaitFor("listening", 2));
}

TEST_F(ArticleChangeListenerTest, ListensAgainAfterTheServerRestarts) {
  auto listener = Listen({.ping_timeout = absl::Seconds(10),
                          .reconnect_delay = absl::Milliseconds(50),
                          .max_reconnect_delay = absl::Milliseconds(200)});
  ASSERT_TRUE(events_.WaitFor("listening"));
  postgres_.Stop();
  ASSERT_TRUE(events_.WaitFor("lost"));
  postgres_.Start();
  ASSERT_TRUE(events_.WaitFor("listening", 2));
  ASSERT_TRUE(store_->Create(TitledArticle("after-restart", "Title", "e1")).ok());
  EXPECT_TRUE(events_.WaitFor("changed:after-restart"));
  EXPECT_EQ(events_.Count("lost"), 1);
}

TEST_F(ArticleChangeListenerTest, StartsListeningOnceTheServerIsThere) {
  postgres_.Stop();
  auto listener = Listen({.ping_timeout = absl::Seconds(10),
                          .reconnect_delay = absl::Milliseconds(50),
                          .max_reconnect_delay = absl::Milliseconds(200)});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(events_.Get().empty());  // nothing to lose before it ever listened
  postgres_.Start();
  ASSERT_TRUE(events_.WaitFor("listening"));
  listener.reset();  // stops promptly while connected
  EXPECT_EQ(events_.Get(), std::vector<std::string>{"listening"});
}

}  // namespace
}  // namespace newsroom::content
