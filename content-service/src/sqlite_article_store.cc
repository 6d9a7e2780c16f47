#include "content-service/src/sqlite_article_store.h"

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/src/status_macros.h"
#include "common/src/validation.h"
#include "content-service/src/sqlite_util.h"

namespace newsroom::content {
namespace {

using sqlite::BindBlob;
using sqlite::BindInt;
using sqlite::BindText;
using sqlite::DbPtr;
using sqlite::Exec;
using sqlite::Prepare;
using sqlite::ScopedReset;
using sqlite::StatementPtr;
using sqlite::StepDone;

// Each entry migrates the schema from version i to version i + 1.
constexpr const char* kMigrations[] = {
    // Version 1. `data` is the serialized Article (StoredArticle's bytes); the other columns are
    // copies of its fields that queries need. article_tags repeats the publish time so that a
    // tag-filtered page is one range scan of its primary key, already in listing order.
    R"sql(
      CREATE TABLE articles (
        article_id      TEXT    NOT NULL PRIMARY KEY,
        publish_seconds INTEGER NOT NULL,
        publish_nanos   INTEGER NOT NULL,
        etag            TEXT    NOT NULL,
        data            BLOB    NOT NULL
      );
      CREATE INDEX articles_by_publish_time
        ON articles (publish_seconds DESC, publish_nanos DESC, article_id DESC);
      CREATE TABLE article_tags (
        tag             TEXT    NOT NULL,
        publish_seconds INTEGER NOT NULL,
        publish_nanos   INTEGER NOT NULL,
        article_id      TEXT    NOT NULL,
        PRIMARY KEY (tag, publish_seconds DESC, publish_nanos DESC, article_id DESC)
      ) WITHOUT ROWID;
      CREATE INDEX article_tags_by_article ON article_tags (article_id);
    )sql",
};
static_assert(std::size(kMigrations) == SqliteArticleStore::kSchemaVersion);

absl::string_view BlobColumn(sqlite3_stmt* statement, int column) {
  // sqlite3_column_blob before sqlite3_column_bytes: the documented order for a blob.
  const char* data = static_cast<const char*>(sqlite3_column_blob(statement, column));
  return absl::string_view(data, static_cast<std::size_t>(sqlite3_column_bytes(statement, column)));
}

absl::StatusOr<v1::Article> ParseArticleColumn(sqlite3_stmt* statement, int column) {
  return ParseStoredArticle(BlobColumn(statement, column));
}

// The current row of a listing (kListColumns): the bytes, then the position's three columns.
ListCursor PositionOfRow(sqlite3_stmt* statement) {
  ListCursor position;
  position.publish_time.set_seconds(sqlite3_column_int64(statement, 1));
  position.publish_time.set_nanos(sqlite3_column_int(statement, 2));
  const char* id = reinterpret_cast<const char*>(sqlite3_column_text(statement, 3));
  position.article_id.assign(id, static_cast<std::size_t>(sqlite3_column_bytes(statement, 3)));
  return position;
}

ListedArticle ListedRow(sqlite3_stmt* statement) {
  return ListedArticle{PositionOfRow(statement),
                       StoredArticle(std::string(BlobColumn(statement, 0)))};
}

absl::StatusOr<int> ReadUserVersion(sqlite3* db) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &raw, nullptr);
  StatementPtr statement(raw);
  if (rc != SQLITE_OK) return sqlite::Error(rc, "read schema version");
  rc = sqlite3_step(statement.get());
  if (rc != SQLITE_ROW) return sqlite::Error(rc, "read schema version");
  return sqlite3_column_int(statement.get(), 0);
}

// Brings the schema up to kSchemaVersion in one transaction, so that two processes opening a new
// file at once do not both create it.
absl::Status Migrate(sqlite3* db) {
  NEWSROOM_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", "begin schema migration"));
  absl::Status status = [db]() -> absl::Status {
    NEWSROOM_ASSIGN_OR_RETURN(const int version, ReadUserVersion(db));
    if (version > SqliteArticleStore::kSchemaVersion) {
      return absl::FailedPreconditionError(absl::StrCat(
          "article database has schema version ", version, ", newer than this binary supports (",
          SqliteArticleStore::kSchemaVersion, ")"));
    }
    if (version < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("article database has invalid schema version ", version));
    }
    for (int v = version; v < SqliteArticleStore::kSchemaVersion; ++v) {
      NEWSROOM_RETURN_IF_ERROR(
          Exec(db, kMigrations[v], absl::StrCat("migrate schema to version ", v + 1)));
    }
    if (version != SqliteArticleStore::kSchemaVersion) {
      // PRAGMA takes no bound parameters; the value is our own constant.
      const std::string set_version =
          absl::StrCat("PRAGMA user_version = ", SqliteArticleStore::kSchemaVersion);
      NEWSROOM_RETURN_IF_ERROR(Exec(db, set_version.c_str(), "set schema version"));
    }
    return Exec(db, "COMMIT", "commit schema migration");
  }();
  if (!status.ok() && !sqlite3_get_autocommit(db)) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  return status;
}

}  // namespace

struct SqliteArticleStore::Statements {
  StatementPtr begin;
  StatementPtr commit;
  StatementPtr rollback;
  StatementPtr insert_article;
  StatementPtr update_article;
  StatementPtr article_exists;
  StatementPtr delete_article;
  StatementPtr insert_tag;
  StatementPtr delete_tags;
  StatementPtr get;
  StatementPtr batch_get;
  StatementPtr list;
  StatementPtr list_after;
  StatementPtr list_tag;
  StatementPtr list_tag_after;
  StatementPtr count;
};

// One read connection with the statements of the page-view path. Statements are declared after
// the connection, so they are finalized before it closes.
struct SqliteArticleStore::Reader {
  DbPtr db;
  StatementPtr get;
  StatementPtr batch_get;
};

// Holds one idle read connection, waiting for one when all are busy, and gives it back.
class SqliteArticleStore::ReaderLease {
 public:
  explicit ReaderLease(SqliteArticleStore& store) : store_(store) {
    absl::MutexLock lock(&store_.readers_mu_);
    store_.readers_mu_.Await(absl::Condition(
        +[](std::vector<std::unique_ptr<Reader>>* idle) { return !idle->empty(); },
        &store_.idle_readers_));
    reader_ = std::move(store_.idle_readers_.back());
    store_.idle_readers_.pop_back();
  }
  ~ReaderLease() {
    absl::MutexLock lock(&store_.readers_mu_);
    store_.idle_readers_.push_back(std::move(reader_));
  }
  ReaderLease(const ReaderLease&) = delete;
  ReaderLease& operator=(const ReaderLease&) = delete;

  Reader& operator*() { return *reader_; }

 private:
  SqliteArticleStore& store_;
  std::unique_ptr<Reader> reader_;
};

namespace {

constexpr char kGetSql[] = "SELECT data FROM articles WHERE article_id = ?1";
// ?1 is a JSON array of ids; json_each yields them in order with their index as `key`.
constexpr char kBatchGetSql[] =
    "SELECT a.data FROM json_each(?1) AS j JOIN articles AS a ON a.article_id = j.value "
    "ORDER BY j.key";
// A listing selects the article's bytes and its position (see ListedRow).
constexpr char kListColumns[] =
    "SELECT data, publish_seconds, publish_nanos, article_id FROM articles ";
constexpr char kListOrder[] =
    " ORDER BY publish_seconds DESC, publish_nanos DESC, article_id DESC LIMIT ?";
constexpr char kListTagColumns[] =
    "SELECT a.data, t.publish_seconds, t.publish_nanos, t.article_id "
    "FROM article_tags AS t JOIN articles AS a ON a.article_id = t.article_id WHERE t.tag = ? ";
constexpr char kListTagOrder[] =
    " ORDER BY t.publish_seconds DESC, t.publish_nanos DESC, t.article_id DESC LIMIT ?";

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteArticleStore>> SqliteArticleStore::Open(
    const std::string& path) {
  DbPtr db;
  NEWSROOM_RETURN_IF_ERROR(sqlite::Open(path, db));
  if (absl::Status status = Migrate(db.get()); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
  }

  auto s = std::make_unique<Statements>();
  const std::string list = absl::StrCat(kListColumns, kListOrder);
  const std::string list_after = absl::StrCat(
      kListColumns, "WHERE (publish_seconds, publish_nanos, article_id) < (?, ?, ?)", kListOrder);
  const std::string list_tag = absl::StrCat(kListTagColumns, kListTagOrder);
  const std::string list_tag_after = absl::StrCat(
      kListTagColumns, "AND (t.publish_seconds, t.publish_nanos, t.article_id) < (?, ?, ?)",
      kListTagOrder);
  const std::pair<const char*, StatementPtr*> statements[] = {
      {"BEGIN IMMEDIATE", &s->begin},
      {"COMMIT", &s->commit},
      {"ROLLBACK", &s->rollback},
      {"INSERT INTO articles (article_id, publish_seconds, publish_nanos, etag, data) "
       "VALUES (?1, ?2, ?3, ?4, ?5)",
       &s->insert_article},
      {"UPDATE articles SET publish_seconds = ?2, publish_nanos = ?3, etag = ?4, data = ?5 "
       "WHERE article_id = ?1 AND etag = ?6",
       &s->update_article},
      {"SELECT 1 FROM articles WHERE article_id = ?1", &s->article_exists},
      {"DELETE FROM articles WHERE article_id = ?1", &s->delete_article},
      {"INSERT OR IGNORE INTO article_tags (tag, publish_seconds, publish_nanos, article_id) "
       "VALUES (?1, ?2, ?3, ?4)",
       &s->insert_tag},
      {"DELETE FROM article_tags WHERE article_id = ?1", &s->delete_tags},
      {kGetSql, &s->get},
      {kBatchGetSql, &s->batch_get},
      {list.c_str(), &s->list},
      {list_after.c_str(), &s->list_after},
      {list_tag.c_str(), &s->list_tag},
      {list_tag_after.c_str(), &s->list_tag_after},
      {"SELECT COUNT(*) FROM articles", &s->count},
  };
  for (const auto& [sql, out] : statements) {
    NEWSROOM_RETURN_IF_ERROR(Prepare(db.get(), sql, *out));
  }
  std::vector<std::unique_ptr<Reader>> readers;
  if (path != ":memory:") {
    for (int i = 0; i < kReadConnections; ++i) {
      auto reader = std::make_unique<Reader>();
      NEWSROOM_RETURN_IF_ERROR(sqlite::Open(path, reader->db));
      // A small page cache each: the operating system's cache holds the file for all of them,
      // outside this process's resident memory.
      NEWSROOM_RETURN_IF_ERROR(
          Exec(reader->db.get(), "PRAGMA cache_size = -512", "size the read cache"));
      NEWSROOM_RETURN_IF_ERROR(Prepare(reader->db.get(), kGetSql, reader->get));
      NEWSROOM_RETURN_IF_ERROR(Prepare(reader->db.get(), kBatchGetSql, reader->batch_get));
      readers.push_back(std::move(reader));
    }
  }
  return std::unique_ptr<SqliteArticleStore>(
      new SqliteArticleStore(db.release(), std::move(s), std::move(readers)));
}

SqliteArticleStore::SqliteArticleStore(sqlite3* db, std::unique_ptr<Statements> statements,
                                       std::vector<std::unique_ptr<Reader>> readers)
    : db_(db),
      statements_(std::move(statements)),
      idle_readers_(std::move(readers)),
      has_readers_(!idle_readers_.empty()) {}

SqliteArticleStore::~SqliteArticleStore() {
  statements_.reset();  // finalized before the connection closes
  sqlite3_close_v2(db_);
}

absl::Status SqliteArticleStore::StepLocked(sqlite3_stmt* statement, absl::string_view what) {
  ScopedReset reset(statement);
  return StepDone(statement, what);
}

absl::Status SqliteArticleStore::InTransactionLocked(const std::function<absl::Status()>& body) {
  NEWSROOM_RETURN_IF_ERROR(StepLocked(statements_->begin.get(), "begin transaction"));
  absl::Status status = body();
  if (status.ok()) status = StepLocked(statements_->commit.get(), "commit");
  // A failed COMMIT can leave the transaction open (e.g. SQLITE_BUSY); end it either way.
  if (!status.ok() && !sqlite3_get_autocommit(db_)) {
    StepLocked(statements_->rollback.get(), "rollback").IgnoreError();
  }
  return status;
}

absl::Status SqliteArticleStore::InsertTagsLocked(absl::string_view article_id,
                                                  const v1::Article& article) {
  sqlite3_stmt* statement = statements_->insert_tag.get();
  for (const std::string& tag : article.tags()) {
    ScopedReset reset(statement);
    NEWSROOM_RETURN_IF_ERROR(BindText(statement, 1, tag));
    NEWSROOM_RETURN_IF_ERROR(BindInt(statement, 2, article.publish_time().seconds()));
    NEWSROOM_RETURN_IF_ERROR(BindInt(statement, 3, article.publish_time().nanos()));
    NEWSROOM_RETURN_IF_ERROR(BindText(statement, 4, article_id));
    NEWSROOM_RETURN_IF_ERROR(StepDone(statement, "insert tag"));
  }
  return absl::OkStatus();
}

absl::Status SqliteArticleStore::DeleteTagsLocked(absl::string_view article_id) {
  sqlite3_stmt* statement = statements_->delete_tags.get();
  ScopedReset reset(statement);
  NEWSROOM_RETURN_IF_ERROR(BindText(statement, 1, article_id));
  return StepDone(statement, "delete tags");
}

namespace {

// Binds parameters 1 to 5 of an insert or update: id, publish seconds and nanos, etag, data.
absl::Status BindArticleRow(sqlite3_stmt* statement, absl::string_view article_id,
                            const v1::Article& article, const StoredArticle& data) {
  NEWSROOM_RETURN_IF_ERROR(BindText(statement, 1, article_id));
  NEWSROOM_RETURN_IF_ERROR(BindInt(statement, 2, article.publish_time().seconds()));
  NEWSROOM_RETURN_IF_ERROR(BindInt(statement, 3, article.publish_time().nanos()));
  NEWSROOM_RETURN_IF_ERROR(BindText(statement, 4, article.etag()));
  return BindBlob(statement, 5, data.bytes());
}

}  // namespace

absl::Status SqliteArticleStore::Create(const v1::Article& article) {
  NEWSROOM_ASSIGN_OR_RETURN(const absl::string_view article_id,
                            ParseArticleName(article.name(), "article.name"));
  NEWSROOM_ASSIGN_OR_RETURN(const StoredArticle data, StoredArticle::FromArticle(article));
  absl::MutexLock lock(&mu_);
  return InTransactionLocked([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    sqlite3_stmt* statement = statements_->insert_article.get();
    ScopedReset reset(statement);
    NEWSROOM_RETURN_IF_ERROR(BindArticleRow(statement, article_id, article, data));
    const int rc = sqlite3_step(statement);
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
      return absl::AlreadyExistsError(absl::StrCat("article already exists: ", article.name()));
    }
    if (rc != SQLITE_DONE) return sqlite::Error(rc, "insert article");
    return InsertTagsLocked(article_id, article);
  });
}

absl::StatusOr<StoredArticle> SqliteArticleStore::GetWith(sqlite3_stmt* statement,
                                                          absl::string_view article_id) {
  ScopedReset reset(statement);
  NEWSROOM_RETURN_IF_ERROR(BindText(statement, 1, article_id));
  const int rc = sqlite3_step(statement);
  if (rc == SQLITE_DONE) {
    return absl::NotFoundError(absl::StrCat("article not found: ", kArticleNamePrefix, article_id));
  }
  if (rc != SQLITE_ROW) return sqlite::Error(rc, "read article");
  return StoredArticle(std::string(BlobColumn(statement, 0)));
}

absl::StatusOr<v1::Article> SqliteArticleStore::Get(absl::string_view article_id) {
  NEWSROOM_ASSIGN_OR_RETURN(const StoredArticle stored, GetStored(article_id));
  return stored.Parse();
}

absl::StatusOr<StoredArticle> SqliteArticleStore::GetStored(absl::string_view article_id) {
  if (has_readers_) {
    ReaderLease reader(*this);
    return GetWith((*reader).get.get(), article_id);
  }
  absl::MutexLock lock(&mu_);
  return GetWith(statements_->get.get(), article_id);
}

absl::StatusOr<std::vector<v1::Article>> SqliteArticleStore::BatchGet(
    const std::vector<std::string>& article_ids) {
  // Only well-formed ids can be stored, and they need no JSON escaping: `[a-z0-9-]` only.
  std::string ids_json = "[";
  bool any = false;
  for (const std::string& id : article_ids) {
    if (!IsValidArticleId(id)) continue;
    absl::StrAppend(&ids_json, any ? ",\"" : "\"", id, "\"");
    any = true;
  }
  ids_json += "]";
  std::vector<v1::Article> articles;
  if (!any) return articles;

  if (has_readers_) {
    ReaderLease reader(*this);
    return BatchGetWith((*reader).batch_get.get(), ids_json, article_ids.size());
  }
  absl::MutexLock lock(&mu_);
  return BatchGetWith(statements_->batch_get.get(), ids_json, article_ids.size());
}

absl::StatusOr<std::vector<v1::Article>> SqliteArticleStore::BatchGetWith(
    sqlite3_stmt* statement, const std::string& ids_json, std::size_t expected) {
  ScopedReset reset(statement);
  NEWSROOM_RETURN_IF_ERROR(BindText(statement, 1, ids_json));
  std::vector<v1::Article> articles;
  articles.reserve(expected);
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    NEWSROOM_ASSIGN_OR_RETURN(v1::Article article, ParseArticleColumn(statement, 0));
    articles.push_back(std::move(article));
  }
  if (rc != SQLITE_DONE) return sqlite::Error(rc, "read articles");
  return articles;
}

absl::Status SqliteArticleStore::Replace(const v1::Article& article,
                                         absl::string_view expected_etag) {
  NEWSROOM_ASSIGN_OR_RETURN(const absl::string_view article_id,
                            ParseArticleName(article.name(), "article.name"));
  NEWSROOM_ASSIGN_OR_RETURN(const StoredArticle data, StoredArticle::FromArticle(article));
  absl::MutexLock lock(&mu_);
  return InTransactionLocked([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    {
      sqlite3_stmt* statement = statements_->update_article.get();
      ScopedReset reset(statement);
      NEWSROOM_RETURN_IF_ERROR(BindArticleRow(statement, article_id, article, data));
      NEWSROOM_RETURN_IF_ERROR(BindText(statement, 6, expected_etag));
      NEWSROOM_RETURN_IF_ERROR(StepDone(statement, "update article"));
    }
    if (sqlite3_changes(db_) == 0) {
      sqlite3_stmt* statement = statements_->article_exists.get();
      ScopedReset reset(statement);
      NEWSROOM_RETURN_IF_ERROR(BindText(statement, 1, article_id));
      const int rc = sqlite3_step(statement);
      if (rc == SQLITE_DONE) {
        return absl::NotFoundError(absl::StrCat("article not found: ", article.name()));
      }
      if (rc != SQLITE_ROW) return sqlite::Error(rc, "read article");
      return absl::AbortedError(
          absl::StrCat("article changed since it was read (etag mismatch): ", article.name()));
    }
    NEWSROOM_RETURN_IF_ERROR(DeleteTagsLocked(article_id));
    return InsertTagsLocked(article_id, article);
  });
}

absl::Status SqliteArticleStore::Delete(absl::string_view article_id) {
  absl::MutexLock lock(&mu_);
  return InTransactionLocked([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> absl::Status {
    {
      sqlite3_stmt* statement = statements_->delete_article.get();
      ScopedReset reset(statement);
      NEWSROOM_RETURN_IF_ERROR(BindText(statement, 1, article_id));
      NEWSROOM_RETURN_IF_ERROR(StepDone(statement, "delete article"));
    }
    if (sqlite3_changes(db_) == 0) {
      return absl::NotFoundError(
          absl::StrCat("article not found: ", kArticleNamePrefix, article_id));
    }
    return DeleteTagsLocked(article_id);
  });
}

absl::StatusOr<ArticlePage> SqliteArticleStore::List(const ListQuery& query) {
  if (query.limit < 1) return absl::InvalidArgumentError("list limit must be at least 1");
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* statement;
  if (query.tag.empty()) {
    statement = query.after ? statements_->list_after.get() : statements_->list.get();
  } else {
    statement = query.after ? statements_->list_tag_after.get() : statements_->list_tag.get();
  }
  ScopedReset reset(statement);
  int index = 1;
  if (!query.tag.empty()) NEWSROOM_RETURN_IF_ERROR(BindText(statement, index++, query.tag));
  if (query.after) {
    NEWSROOM_RETURN_IF_ERROR(BindInt(statement, index++, query.after->publish_time.seconds()));
    NEWSROOM_RETURN_IF_ERROR(BindInt(statement, index++, query.after->publish_time.nanos()));
    NEWSROOM_RETURN_IF_ERROR(BindText(statement, index++, query.after->article_id));
  }
  // One row past the page tells whether another page follows.
  NEWSROOM_RETURN_IF_ERROR(BindInt(statement, index++, int64_t{query.limit} + 1));

  ArticlePage page;
  int rc;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    if (page.articles.size() == static_cast<size_t>(query.limit)) {
      page.has_more = true;
      page.next = PositionOfRow(statement);
      return page;
    }
    page.articles.push_back(ListedRow(statement));
  }
  if (rc != SQLITE_DONE) return sqlite::Error(rc, "list articles");
  return page;
}

absl::StatusOr<int64_t> SqliteArticleStore::Count() {
  absl::MutexLock lock(&mu_);
  sqlite3_stmt* statement = statements_->count.get();
  ScopedReset reset(statement);
  const int rc = sqlite3_step(statement);
  if (rc != SQLITE_ROW) return sqlite::Error(rc, "count articles");
  return sqlite3_column_int64(statement, 0);
}

}  // namespace newsroom::content
