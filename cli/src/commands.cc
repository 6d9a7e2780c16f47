#include "cli/src/commands.h"

#include <google/protobuf/util/json_util.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "cli/src/output.h"
#include "cli/src/render.h"
#include "google/protobuf/empty.pb.h"

namespace newsroom::cli {
namespace {

namespace v1 = ::newsroom::content::v1;

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  // Zero values are printed, so `"reads": "0"` is distinguishable from read stats being absent.
  options.always_print_primitive_fields = true;
  std::string json;
  // Serializing a message we hold cannot fail for these types (no Any fields).
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  return json;
}

int Fail(std::ostream& err, const absl::Status& status) {
  err << "newsroom: " << FormatStatus(status) << "\n";
  return kExitRpcError;
}

int UsageFail(std::ostream& err, const absl::Status& status) {
  err << "newsroom: " << status.message() << "\n";
  return kExitUsage;
}

void PrintArticle(const Command& command, const v1::Article& article, std::ostream& out) {
  if (command.json) {
    out << ToJson(article) << "\n";
  } else {
    out << RenderArticle(article);
  }
}

int Create(const Command& command, ContentClient& client, std::ostream& out, std::ostream& err) {
  absl::StatusOr<v1::Article> article = LoadArticleFile(command.file);
  if (!article.ok()) return UsageFail(err, article.status());
  v1::CreateArticleRequest request;
  if (!command.article_id.empty()) {
    request.set_article_id(command.article_id);
  } else if (absl::StartsWith(article->name(), "articles/") &&
             article->name().size() > std::strlen("articles/")) {
    request.set_article_id(article->name().substr(std::strlen("articles/")));
  } else if (article->name().empty()) {
    return UsageFail(err,
                     absl::InvalidArgumentError(absl::StrCat(
                         "create needs --id=ID or a \"name\": \"articles/ID\" in ", command.file)));
  } else {
    return UsageFail(err, absl::InvalidArgumentError(absl::StrCat(
                              command.file, ": \"name\" must be \"articles/ID\", got \"",
                              article->name(), "\"")));
  }
  *request.mutable_article() = *std::move(article);
  absl::StatusOr<v1::Article> created = client.CreateArticle(request);
  if (!created.ok()) return Fail(err, created.status());
  if (command.json) {
    out << ToJson(*created) << "\n";
  } else {
    out << "Created " << created->name() << "\n";
  }
  return kExitOk;
}

}  // namespace

absl::StatusOr<v1::Article> LoadArticleFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path, ": is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  v1::Article article;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(contents.str(), &article, options);
  if (!status.ok()) {
    // The parser appends a snippet and a caret on further lines; the first line says it all.
    absl::string_view message(status.message().data(), status.message().size());
    message = message.substr(0, message.find('\n'));
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a valid Article in protobuf JSON: ", message));
  }
  return article;
}

int RunCommand(const Command& command, ContentClient& client, std::ostream& out,
               std::ostream& err) {
  switch (command.verb) {
    case Verb::kHelp:
      err << UsageText();
      return kExitUsage;

    case Verb::kGet:
    case Verb::kStats: {
      v1::GetArticleRequest request;
      request.set_name(command.article_name);
      absl::StatusOr<v1::Article> article = client.GetArticle(request);
      if (!article.ok()) return Fail(err, article.status());
      if (command.verb == Verb::kGet) {
        PrintArticle(command, *article, out);
      } else if (command.json) {
        out << (article->has_read_stats() ? ToJson(article->read_stats()) : "null") << "\n";
      } else {
        out << ReadCountLine(*article) << "\n";
        if (article->has_read_stats()) {
          out << "Unique readers: " << article->read_stats().unique_readers() << "\n";
        }
      }
      return kExitOk;
    }

    case Verb::kRead: {
      v1::ReadArticleRequest request;
      request.set_name(command.article_name);
      request.set_reader_id(command.reader_id);
      request.set_read_id(command.read_id);
      absl::StatusOr<v1::Article> article = client.ReadArticle(request);
      if (!article.ok()) return Fail(err, article.status());
      PrintArticle(command, *article, out);
      return kExitOk;
    }

    case Verb::kList: {
      v1::ListArticlesRequest request;
      request.set_tag(command.tag);
      request.set_page_size(command.page_size);
      request.set_page_token(command.page_token);
      absl::StatusOr<v1::ListArticlesResponse> response = client.ListArticles(request);
      if (!response.ok()) return Fail(err, response.status());
      if (command.json) {
        out << ToJson(*response) << "\n";
        return kExitOk;
      }
      for (const v1::Article& article : response->articles()) {
        out << FormatListLine(article) << "\n";
      }
      if (!response->next_page_token().empty()) {
        out << "Next page token: " << response->next_page_token() << "\n";
      }
      return kExitOk;
    }

    case Verb::kTop: {
      v1::ListMostReadArticlesRequest request;
      request.set_period(command.period);
      request.set_page_size(command.limit);
      absl::StatusOr<v1::ListMostReadArticlesResponse> response =
          client.ListMostReadArticles(request);
      if (!response.ok()) return Fail(err, response.status());
      if (command.json) {
        out << ToJson(*response) << "\n";
        return kExitOk;
      }
      for (int i = 0; i < response->articles_size(); ++i) {
        out << FormatTopLine(static_cast<std::size_t>(i) + 1, response->articles(i)) << "\n";
      }
      return kExitOk;
    }

    case Verb::kCreate:
      return Create(command, client, out, err);

    case Verb::kWatch: {
      v1::WatchArticleReadStatsRequest request;
      for (const std::string& name : command.article_names) request.add_names(name);
      absl::Status status = client.WatchArticleReadStats(
          request, command.duration, [&](const v1::WatchArticleReadStatsResponse& response) {
            if (command.json) {
              out << ToJson(response) << "\n";
            } else {
              for (const auto& stats : response.read_stats()) out << FormatWatchLine(stats) << "\n";
            }
            out.flush();  // live: each update as it comes
          });
      if (!status.ok()) return Fail(err, status);
      return kExitOk;
    }

    case Verb::kDelete: {
      v1::DeleteArticleRequest request;
      request.set_name(command.article_name);
      if (absl::Status status = client.DeleteArticle(request); !status.ok()) {
        return Fail(err, status);
      }
      if (command.json) {
        out << ToJson(google::protobuf::Empty()) << "\n";
      } else {
        out << "Deleted " << command.article_name << "\n";
      }
      return kExitOk;
    }
  }
  return kExitUsage;
}

}  // namespace newsroom::cli
