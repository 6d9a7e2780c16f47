#include "content-service/src/postgres_article_store.h"

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/src/log.h"
#include "common/src/status_macros.h"
#include "common/src/validation.h"

namespace newsroom::content {
namespace {

using Kind = PostgresPool::Kind;

// Serializes schema migrations across every process sharing the database (any fixed number,
// unique to this application's use of advisory locks).
constexpr char kMigrationLockKey[] = "7340155610301200417";

// Each entry migrates the schema from version i to version i + 1. As in SQLite: `data` is the
// serialized Article (without read_stats) and the other columns copy the fields queries need.
// COLLATE "C" makes ids order by bytes, as SQLite does, whatever the database's locale.
constexpr const char* kMigrations[] = {
    R"sql(
      CREATE TABLE articles (
        article_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
        publish_seconds BIGINT  NOT NULL,
        publish_nanos   INTEGER NOT NULL,
        etag            TEXT    NOT NULL,
        data            BYTEA   NOT NULL
      );
      CREATE INDEX articles_by_publish_time
        ON articles (publish_seconds DESC, publish_nanos DESC, article_id DESC);
      CREATE TABLE article_tags (
        tag             TEXT COLLATE "C" NOT NULL,
        publish_seconds BIGINT  NOT NULL,
        publish_nanos   INTEGER NOT NULL,
        article_id      TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (tag, publish_seconds, publish_nanos, article_id)
      );
      CREATE INDEX article_tags_by_article ON article_tags (article_id);
    )sql",
};
static_assert(std::size(kMigrations) == PostgresArticleStore::kSchemaVersion);

// Every change to an article, whoever makes it (any replica, of any version, or by hand), is
// announced on kArticleChangesChannel when its transaction commits, so that each replica's article
// cache can drop its copy. A TRUNCATE announces an empty id: every article. This is an addition
// that older binaries neither need nor mind, so it is not a schema version: a version bump would
// make a replica of the previous release refuse to restart during a rollout, and rule out rolling
// back. EnsureChangeTriggers creates each trigger that is missing at start (without touching the
// table when both are there, so a starting replica takes no lock that would stall others' writes).
constexpr char kAnnounceChangesFunctionSql[] = R"sql(
  CREATE OR REPLACE FUNCTION newsroom_notify_article_changed() RETURNS trigger
  LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'TRUNCATE' THEN
      PERFORM pg_notify('newsroom_article_changed', '');
      RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
      PERFORM pg_notify('newsroom_article_changed', OLD.article_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
      PERFORM pg_notify('newsroom_article_changed', NEW.article_id);
    END IF;
    RETURN NULL;
  END $$;
)sql";

struct ChangeTrigger {
  const char* name;
  const char* create_sql;
};
constexpr ChangeTrigger kChangeTriggers[] = {
    {"articles_notify_changed",
     "CREATE TRIGGER articles_notify_changed AFTER INSERT OR UPDATE OR DELETE ON articles "
     "FOR EACH ROW EXECUTE FUNCTION newsroom_notify_article_changed()"},
    {"articles_notify_truncated",
     "CREATE TRIGGER articles_notify_truncated AFTER TRUNCATE ON articles "
     "FOR EACH STATEMENT EXECUTE FUNCTION newsroom_notify_article_changed()"},
};

// A listing selects the article's bytes and its position (see ListedRow).
constexpr char kListColumns[] =
    "SELECT data, publish_seconds, publish_nanos, article_id FROM articles ";
constexpr char kListOrder[] = " ORDER BY publish_seconds DESC, publish_nanos DESC, article_id DESC";
constexpr char kListTagColumns[] =
    "SELECT a.data, t.publish_seconds, t.publish_nanos, t.article_id "
    "FROM article_tags AS t JOIN articles AS a ON a.article_id = t.article_id WHERE t.tag = $1 ";
constexpr char kListTagOrder[] =
    " ORDER BY t.publish_seconds DESC, t.publish_nanos DESC, t.article_id DESC";

PgParam Text(absl::string_view value) { return {std::string(value), false}; }
PgParam Int(int64_t value) { return {std::to_string(value), false}; }

absl::string_view DataColumn(PGresult* result, int row) {
  return absl::string_view(PQgetvalue(result, row, 0),
                           static_cast<std::size_t>(PQgetlength(result, row, 0)));
}

absl::StatusOr<v1::Article> ParseArticle(PGresult* result, int row) {
  return ParseStoredArticle(DataColumn(result, row));
}

// An integer column of a binary result: BIGINT or INTEGER, big-endian.
absl::StatusOr<int64_t> BinaryIntColumn(PGresult* result, int row, int column) {
  const int length = PQgetlength(result, row, column);
  if (length != 8 && length != 4) {
    return absl::InternalError("article database: unexpected integer column");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(result, row, column));
  uint64_t value = 0;
  for (int i = 0; i < length; ++i) value = value << 8 | bytes[i];
  if (length == 4) return static_cast<int32_t>(static_cast<uint32_t>(value));
  return static_cast<int64_t>(value);
}

// The position of a row of a listing in binary format (kListColumns): its last three columns.
absl::StatusOr<ListCursor> PositionOfRow(PGresult* result, int row) {
  ListCursor position;
  NEWSROOM_ASSIGN_OR_RETURN(const int64_t seconds, BinaryIntColumn(result, row, 1));
  NEWSROOM_ASSIGN_OR_RETURN(const int64_t nanos, BinaryIntColumn(result, row, 2));
  position.publish_time.set_seconds(seconds);
  position.publish_time.set_nanos(static_cast<int32_t>(nanos));
  position.article_id.assign(PQgetvalue(result, row, 3),
                             static_cast<std::size_t>(PQgetlength(result, row, 3)));
  return position;
}

// A row of a listing in binary format: the bytes, then the position.
absl::StatusOr<ListedArticle> ListedRow(PGresult* result, int row) {
  NEWSROOM_ASSIGN_OR_RETURN(ListCursor position, PositionOfRow(result, row));
  return ListedArticle{std::move(position), StoredArticle(std::string(DataColumn(result, row)))};
}

// Parameters 1 to 5 of an insert or update: id, publish seconds and nanos, etag, data.
std::vector<PgParam> ArticleRow(absl::string_view article_id, const v1::Article& article,
                                const StoredArticle& data) {
  return {Text(article_id), Int(article.publish_time().seconds()),
          Int(article.publish_time().nanos()), Text(article.etag()),
          PgParam{std::string(data.bytes()), true}};
}

absl::Status InsertTags(PostgresSession& session, absl::string_view article_id,
                        const v1::Article& article) {
  for (const std::string& tag : article.tags()) {
    NEWSROOM_RETURN_IF_ERROR(
        session
            .Exec("INSERT INTO article_tags (tag, publish_seconds, publish_nanos, article_id) "
                  "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                  {Text(tag), Int(article.publish_time().seconds()),
                   Int(article.publish_time().nanos()), Text(article_id)},
                  "insert tag")
            .status());
  }
  return absl::OkStatus();
}

absl::Status DeleteTags(PostgresSession& session, absl::string_view article_id) {
  return session
      .Exec("DELETE FROM article_tags WHERE article_id = $1", {Text(article_id)}, "delete tags")
      .status();
}

// Rows changed by an INSERT, UPDATE or DELETE.
int64_t Changed(PGresult* result) {
  int64_t n = 0;
  return absl::SimpleAtoi(PQcmdTuples(result), &n) ? n : 0;
}

// Creates the function the change triggers call when it is missing (one made by hand, perhaps by
// another role, is left as it is), and each trigger of kChangeTriggers that is missing; warns of
// one that is there but disabled: while it is, its changes go unannounced and other replicas'
// caches can serve them stale, which no ping can see.
absl::Status EnsureChangeTriggers(PostgresSession& session) {
  NEWSROOM_ASSIGN_OR_RETURN(
      PgResultPtr function,
      session.Exec("SELECT to_regprocedure('newsroom_notify_article_changed()') IS NOT NULL", {},
                   "look for the change function"));
  if (absl::string_view(PQgetvalue(function.get(), 0, 0)) != "t") {
    NEWSROOM_RETURN_IF_ERROR(
        session.ExecScript(kAnnounceChangesFunctionSql, "create the change function"));
  }
  for (const ChangeTrigger& trigger : kChangeTriggers) {
    NEWSROOM_ASSIGN_OR_RETURN(PgResultPtr found,
                              session.Exec("SELECT tgenabled FROM pg_trigger "
                                           "WHERE tgrelid = 'articles'::regclass AND tgname = $1",
                                           {Text(trigger.name)}, "look for a change trigger"));
    if (PQntuples(found.get()) > 0) {
      // 'O' and 'A' fire on ordinary writes; 'D' (disabled) and 'R' (replica only) do not.
      const absl::string_view enabled = PQgetvalue(found.get(), 0, 0);
      if (enabled != "O" && enabled != "A") {
        log::Warning(
            "a change trigger on articles is disabled: changes it would announce go unannounced, "
            "and other replicas' article caches may serve them stale; ALTER TABLE articles ENABLE "
            "TRIGGER it, then NOTIFY newsroom_article_changed, ''",
            {{"trigger", trigger.name}});
      }
      continue;
    }
    NEWSROOM_RETURN_IF_ERROR(session.ExecScript(trigger.create_sql, "create a change trigger"));
  }
  return absl::OkStatus();
}

absl::Status Migrate(PostgresSession& session) {
  return session.InTransaction([&]() -> absl::Status {
    // The connection's own 5 s timeouts may be missing (a pooler that drops startup options): a
    // migration or a new trigger must not wait for, or hold, the articles table without bound.
    NEWSROOM_RETURN_IF_ERROR(
        session.ExecScript("SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '5s'",
                           "bound the migration's waits"));
    // Held to the end of this transaction: a second replica starting now waits here, then finds
    // the schema in place.
    NEWSROOM_RETURN_IF_ERROR(session
                                 .Exec("SELECT pg_advisory_xact_lock($1::bigint)",
                                       {Text(kMigrationLockKey)}, "lock schema migration")
                                 .status());
    NEWSROOM_RETURN_IF_ERROR(
        session
            .Exec("CREATE TABLE IF NOT EXISTS content_schema_version (version INTEGER NOT NULL)",
                  {}, "create schema version table")
            .status());
    NEWSROOM_ASSIGN_OR_RETURN(
        PgResultPtr rows,
        session.Exec("SELECT version FROM content_schema_version", {}, "read schema version"));
    int version = 0;
    if (PQntuples(rows.get()) > 0 && !absl::SimpleAtoi(PQgetvalue(rows.get(), 0, 0), &version)) {
      return absl::FailedPreconditionError("article database has an unreadable schema version");
    }
    if (version > PostgresArticleStore::kSchemaVersion || version < 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "article database has schema version ", version, ", which this binary does not support (",
          PostgresArticleStore::kSchemaVersion, ")"));
    }
    for (int v = version; v < PostgresArticleStore::kSchemaVersion; ++v) {
      NEWSROOM_RETURN_IF_ERROR(
          session.ExecScript(kMigrations[v], absl::StrCat("migrate schema to version ", v + 1)));
    }
    NEWSROOM_RETURN_IF_ERROR(EnsureChangeTriggers(session));
    if (version == PostgresArticleStore::kSchemaVersion) return absl::OkStatus();
    NEWSROOM_RETURN_IF_ERROR(
        session.Exec("DELETE FROM content_schema_version", {}, "set schema version").status());
    return session
        .Exec("INSERT INTO content_schema_version (version) VALUES ($1)",
              {Int(PostgresArticleStore::kSchemaVersion)}, "set schema version")
        .status();
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresArticleStore>> PostgresArticleStore::Open(
    PostgresOptions options) {
  NEWSROOM_ASSIGN_OR_RETURN(std::unique_ptr<PostgresPool> pool,
                            PostgresPool::Open(std::move(options)));
  NEWSROOM_RETURN_IF_ERROR(pool->Run(Kind::kWrite, Migrate));
  return std::unique_ptr<PostgresArticleStore>(new PostgresArticleStore(std::move(pool)));
}

absl::Status PostgresArticleStore::Create(const v1::Article& article) {
  NEWSROOM_ASSIGN_OR_RETURN(const absl::string_view article_id,
                            ParseArticleName(article.name(), "article.name"));
  NEWSROOM_ASSIGN_OR_RETURN(const StoredArticle data, StoredArticle::FromArticle(article));
  return pool_->Run(Kind::kWrite, [&](PostgresSession& session) {
    return session.InTransaction([&]() -> absl::Status {
      NEWSROOM_ASSIGN_OR_RETURN(
          PgResultPtr inserted,
          session.Exec("INSERT INTO articles (article_id, publish_seconds, publish_nanos, etag, "
                       "data) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (article_id) DO NOTHING",
                       ArticleRow(article_id, article, data), "insert article"));
      if (Changed(inserted.get()) == 0) {
        return absl::AlreadyExistsError(absl::StrCat("article already exists: ", article.name()));
      }
      return InsertTags(session, article_id, article);
    });
  });
}

absl::StatusOr<v1::Article> PostgresArticleStore::Get(absl::string_view article_id) {
  NEWSROOM_ASSIGN_OR_RETURN(const StoredArticle stored, GetStored(article_id));
  return stored.Parse();
}

absl::StatusOr<StoredArticle> PostgresArticleStore::GetStored(absl::string_view article_id) {
  absl::StatusOr<StoredArticle> article;
  NEWSROOM_RETURN_IF_ERROR(pool_->Run(Kind::kRead, [&](PostgresSession& session) -> absl::Status {
    NEWSROOM_ASSIGN_OR_RETURN(
        PgResultPtr rows, session.Exec("SELECT data FROM articles WHERE article_id = $1",
                                       {Text(article_id)}, "read article", /*binary_result=*/true));
    if (PQntuples(rows.get()) == 0) {
      article =
          absl::NotFoundError(absl::StrCat("article not found: ", kArticleNamePrefix, article_id));
    } else {
      article = StoredArticle(std::string(DataColumn(rows.get(), 0)));
    }
    return absl::OkStatus();
  }));
  return article;
}

absl::StatusOr<std::vector<v1::Article>> PostgresArticleStore::BatchGet(
    const std::vector<std::string>& article_ids) {
  // Only well-formed ids can be stored, and they need no escaping inside the quotes of an array
  // literal (`[a-z0-9-]`); the quotes keep an id such as "null" from reading as NULL.
  std::string ids = "{";
  bool any = false;
  for (const std::string& id : article_ids) {
    if (!IsValidArticleId(id)) continue;
    absl::StrAppend(&ids, any ? ",\"" : "\"", id, "\"");
    any = true;
  }
  ids += "}";
  std::vector<v1::Article> articles;
  if (!any) return articles;
  NEWSROOM_RETURN_IF_ERROR(pool_->Run(Kind::kRead, [&](PostgresSession& session) -> absl::Status {
    articles.clear();
    NEWSROOM_ASSIGN_OR_RETURN(
        PgResultPtr rows,
        session.Exec("SELECT a.data FROM unnest($1::text[]) WITH ORDINALITY AS j(id, n) "
                     "JOIN articles AS a ON a.article_id = j.id ORDER BY j.n",
                     {Text(ids)}, "read articles", /*binary_result=*/true));
    for (int row = 0; row < PQntuples(rows.get()); ++row) {
      NEWSROOM_ASSIGN_OR_RETURN(v1::Article article, ParseArticle(rows.get(), row));
      articles.push_back(std::move(article));
    }
    return absl::OkStatus();
  }));
  return articles;
}

absl::Status PostgresArticleStore::Replace(const v1::Article& article,
                                           absl::string_view expected_etag) {
  NEWSROOM_ASSIGN_OR_RETURN(const absl::string_view article_id,
                            ParseArticleName(article.name(), "article.name"));
  NEWSROOM_ASSIGN_OR_RETURN(const StoredArticle data, StoredArticle::FromArticle(article));
  return pool_->Run(Kind::kWrite, [&](PostgresSession& session) {
    return session.InTransaction([&]() -> absl::Status {
      std::vector<PgParam> params = ArticleRow(article_id, article, data);
      params.push_back(Text(expected_etag));
      // The row lock taken by UPDATE makes this a compare-and-set across processes too.
      NEWSROOM_ASSIGN_OR_RETURN(
          PgResultPtr updated,
          session.Exec("UPDATE articles SET publish_seconds = $2, publish_nanos = $3, etag = $4, "
                       "data = $5 WHERE article_id = $1 AND etag = $6",
                       params, "update article"));
      if (Changed(updated.get()) == 0) {
        NEWSROOM_ASSIGN_OR_RETURN(PgResultPtr exists,
                                  session.Exec("SELECT 1 FROM articles WHERE article_id = $1",
                                               {Text(article_id)}, "read article"));
        if (PQntuples(exists.get()) == 0) {
          return absl::NotFoundError(absl::StrCat("article not found: ", article.name()));
        }
        return absl::AbortedError(
            absl::StrCat("article changed since it was read (etag mismatch): ", article.name()));
      }
      NEWSROOM_RETURN_IF_ERROR(DeleteTags(session, article_id));
      return InsertTags(session, article_id, article);
    });
  });
}

absl::Status PostgresArticleStore::Delete(absl::string_view article_id) {
  return pool_->Run(Kind::kWrite, [&](PostgresSession& session) {
    return session.InTransaction([&]() -> absl::Status {
      NEWSROOM_ASSIGN_OR_RETURN(PgResultPtr deleted,
                                session.Exec("DELETE FROM articles WHERE article_id = $1",
                                             {Text(article_id)}, "delete article"));
      if (Changed(deleted.get()) == 0) {
        return absl::NotFoundError(
            absl::StrCat("article not found: ", kArticleNamePrefix, article_id));
      }
      return DeleteTags(session, article_id);
    });
  });
}

absl::StatusOr<ArticlePage> PostgresArticleStore::List(const ListQuery& query) {
  if (query.limit < 1) return absl::InvalidArgumentError("list limit must be at least 1");
  std::string sql;
  std::vector<PgParam> params;
  if (query.tag.empty()) {
    sql = kListColumns;
    if (query.after) {
      sql += "WHERE (publish_seconds, publish_nanos, article_id) < ($1, $2, $3)";
    }
    sql += kListOrder;
  } else {
    sql = kListTagColumns;
    params.push_back(Text(query.tag));
    if (query.after) {
      sql += "AND (t.publish_seconds, t.publish_nanos, t.article_id) < ($2, $3, $4)";
    }
    sql += kListTagOrder;
  }
  if (query.after) {
    params.push_back(Int(query.after->publish_time.seconds()));
    params.push_back(Int(query.after->publish_time.nanos()));
    params.push_back(Text(query.after->article_id));
  }
  // One row past the page tells whether another page follows.
  params.push_back(Int(int64_t{query.limit} + 1));
  absl::StrAppend(&sql, " LIMIT $", params.size());

  ArticlePage page;
  NEWSROOM_RETURN_IF_ERROR(pool_->Run(Kind::kRead, [&](PostgresSession& session) -> absl::Status {
    page = ArticlePage();
    NEWSROOM_ASSIGN_OR_RETURN(PgResultPtr rows, session.Exec(sql.c_str(), params, "list articles",
                                                             /*binary_result=*/true));
    const int n = PQntuples(rows.get());
    for (int row = 0; row < n && row < query.limit; ++row) {
      NEWSROOM_ASSIGN_OR_RETURN(ListedArticle listed, ListedRow(rows.get(), row));
      page.articles.push_back(std::move(listed));
    }
    page.has_more = n > query.limit;
    if (page.has_more) {
      NEWSROOM_ASSIGN_OR_RETURN(page.next, PositionOfRow(rows.get(), query.limit));
    }
    return absl::OkStatus();
  }));
  return page;
}

absl::StatusOr<int64_t> PostgresArticleStore::Count() {
  int64_t count = 0;
  NEWSROOM_RETURN_IF_ERROR(pool_->Run(Kind::kRead, [&](PostgresSession& session) -> absl::Status {
    NEWSROOM_ASSIGN_OR_RETURN(PgResultPtr rows,
                              session.Exec("SELECT COUNT(*) FROM articles", {}, "count articles"));
    if (!absl::SimpleAtoi(PQgetvalue(rows.get(), 0, 0), &count)) {
      return absl::InternalError("article database: unreadable count");
    }
    return absl::OkStatus();
  }));
  return count;
}

}  // namespace newsroom::content
