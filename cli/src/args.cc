#include "cli/src/args.h"

#include <map>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/src/host_port.h"

namespace newsroom::cli {
namespace {

namespace analytics = ::newsroom::analytics::v1;

constexpr char kUsage[] =
    R"(usage: newsroom [--addr=HOST:PORT] [--timeout=5s] [--json] [--token-file=PATH]
                [--tls-ca=PATH] <command> [args]

commands:
  get <article_id|articles/ID>                          show an article (does not count a read)
  read <id> [--reader=R] [--read-id=X]                  read an article (counts one read)
  list [--tag=T] [--page-size=N] [--page-token=TOK]     list articles, newest first
  top [--period=all|day|7d|30d] [--limit=N]             most read articles in a period
  create <file.json> [--id=ID]                          create an article from protobuf JSON
  delete <id>                                           delete an article
  stats <id>                                            show an article's read count
  watch <id>... [--duration=DUR]                        show read counts live, a line per change,
                                                        until Ctrl-C or DUR (e.g. 30s) has passed
  help                                                  show this text

global flags (anywhere on the line):
  --addr=HOST:PORT   content-service address (env NEWSROOM_ADDR, default 127.0.0.1:50051)
  --timeout=DUR      deadline of every call, e.g. 500ms, 5s (default 5s)
  --json             print one protobuf-JSON document per command instead of text
  --token-file=PATH  file holding the editor token that create and delete need
                     (else env NEWSROOM_EDITOR_TOKEN)
  --tls-ca=PATH      PEM CA that signed content-service's certificate: talk TLS
                     (else env NEWSROOM_TLS_CA; neither: plaintext)

exit status: 0 success, 1 the call failed, 2 usage error
)";

// Which subcommand-specific flags each verb accepts.
const std::map<std::string, std::vector<std::string>>& VerbFlags() {
  static const auto* const kFlags = new std::map<std::string, std::vector<std::string>>{
      {"get", {}},
      {"read", {"reader", "read-id"}},
      {"list", {"tag", "page-size", "page-token"}},
      {"top", {"period", "limit"}},
      {"create", {"id"}},
      {"delete", {}},
      {"stats", {}},
      {"watch", {"duration"}},
  };
  return *kFlags;
}

bool IsVerbFlag(const std::string& name) {
  for (const auto& [verb, flags] : VerbFlags()) {
    for (const std::string& flag : flags) {
      if (flag == name) return true;
    }
  }
  return false;
}

std::optional<Verb> VerbFromName(const std::string& name) {
  static const auto* const kVerbs = new std::map<std::string, Verb>{
      {"get", Verb::kGet},     {"read", Verb::kRead},     {"list", Verb::kList},
      {"top", Verb::kTop},     {"create", Verb::kCreate}, {"delete", Verb::kDelete},
      {"stats", Verb::kStats}, {"watch", Verb::kWatch},
  };
  auto it = kVerbs->find(name);
  if (it == kVerbs->end()) return std::nullopt;
  return it->second;
}

absl::Status UsageError(absl::string_view message) {
  return absl::InvalidArgumentError(std::string(message));
}

absl::StatusOr<int32_t> ParseCount(const std::string& flag, const std::string& value) {
  int32_t n = 0;
  if (!absl::SimpleAtoi(value, &n)) {
    return UsageError(absl::StrCat("--", flag, " must be an integer, got '", value, "'"));
  }
  return n;
}

absl::StatusOr<analytics::Period> ParsePeriod(const std::string& value) {
  if (value == "all") return analytics::PERIOD_ALL_TIME;
  if (value == "day") return analytics::PERIOD_LAST_DAY;
  if (value == "7d") return analytics::PERIOD_LAST_7_DAYS;
  if (value == "30d") return analytics::PERIOD_LAST_30_DAYS;
  return UsageError(absl::StrCat("--period must be one of all, day, 7d, 30d, got '", value, "'"));
}

// Accepts `ID` or `articles/ID`; the server validates the id itself.
absl::StatusOr<std::string> ArticleName(const std::string& arg) {
  if (arg.empty() || arg == "articles/") return UsageError("the article id is empty");
  if (absl::StartsWith(arg, "articles/")) return arg;
  return absl::StrCat("articles/", arg);
}

}  // namespace

const char* UsageText() { return kUsage; }

absl::StatusOr<Command> ParseCommandLine(const std::vector<std::string>& args,
                                         const std::string& default_address) {
  Command command;
  command.address = default_address;
  std::optional<std::string> verb_name;
  std::vector<std::string> positionals;
  std::vector<std::pair<std::string, std::string>> verb_flags;  // in order, checked below

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") return Command{};
    if (!absl::StartsWith(arg, "--") || arg == "--") {
      if (absl::StartsWith(arg, "-") && arg != "-") {
        return UsageError(absl::StrCat("unknown flag '", arg, "'"));
      }
      if (!verb_name.has_value()) {
        verb_name = arg;
      } else {
        positionals.push_back(arg);
      }
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (name == "json") {
      if (value.has_value()) return UsageError("--json takes no value");
      command.json = true;
      continue;
    }
    // Checked before taking a value, so that `--typo ID` does not swallow the ID.
    if (name != "addr" && name != "timeout" && name != "token-file" && name != "tls-ca" &&
        !IsVerbFlag(name)) {
      return UsageError(absl::StrCat("unknown flag '--", name, "'"));
    }
    // Every other flag takes a value: `--flag=value` or `--flag value`.
    if (!value.has_value()) {
      if (i + 1 >= args.size()) return UsageError(absl::StrCat("--", name, " needs a value"));
      value = args[++i];
    }
    if (name == "addr") {
      command.address = *value;
    } else if (name == "timeout") {
      absl::Duration timeout;
      if (!absl::ParseDuration(*value, &timeout) || timeout <= absl::ZeroDuration() ||
          timeout == absl::InfiniteDuration()) {
        return UsageError(
            absl::StrCat("--timeout must be a positive duration such as 5s, got '", *value, "'"));
      }
      command.timeout = timeout;
    } else if (name == "token-file") {
      if (value->empty()) return UsageError("--token-file is empty");
      command.token_file = *value;
    } else if (name == "tls-ca") {
      if (value->empty()) return UsageError("--tls-ca is empty");
      command.tls_ca = *value;
    } else {
      verb_flags.emplace_back(std::move(name), std::move(*value));
    }
  }

  // Checked here rather than per flag so that a bad NEWSROOM_ADDR is caught too.
  if (!ParseHostPort(command.address, "--addr").ok()) {
    return UsageError(
        absl::StrCat("--addr (or NEWSROOM_ADDR) must be HOST:PORT, got '", command.address, "'"));
  }

  if (!verb_name.has_value() || *verb_name == "help") {
    if (!verb_flags.empty()) {
      return UsageError(absl::StrCat("unknown flag '--", verb_flags.front().first, "'"));
    }
    return command;  // kHelp
  }
  std::optional<Verb> verb = VerbFromName(*verb_name);
  if (!verb.has_value()) return UsageError(absl::StrCat("unknown command '", *verb_name, "'"));
  command.verb = *verb;

  const std::vector<std::string>& allowed = VerbFlags().at(*verb_name);
  for (auto& [name, value] : verb_flags) {
    bool known = false;
    for (const std::string& a : allowed) known = known || a == name;
    if (!known) {
      return UsageError(absl::StrCat("unknown flag '--", name, "' for '", *verb_name, "'"));
    }
    if (name == "reader") {
      command.reader_id = value;
    } else if (name == "read-id") {
      command.read_id = value;
    } else if (name == "tag") {
      command.tag = value;
    } else if (name == "page-size") {
      auto n = ParseCount(name, value);
      if (!n.ok()) return n.status();
      command.page_size = *n;
    } else if (name == "page-token") {
      command.page_token = value;
    } else if (name == "period") {
      auto period = ParsePeriod(value);
      if (!period.ok()) return period.status();
      command.period = *period;
    } else if (name == "limit") {
      auto n = ParseCount(name, value);
      if (!n.ok()) return n.status();
      command.limit = *n;
    } else if (name == "duration") {
      absl::Duration duration;
      if (!absl::ParseDuration(value, &duration) || duration <= absl::ZeroDuration()) {
        return UsageError(
            absl::StrCat("--duration must be a positive duration such as 30s, got '", value, "'"));
      }
      command.duration = duration;
    } else if (name == "id") {
      if (value.empty()) return UsageError("--id is empty");
      command.article_id = value;
    }
  }

  if (command.verb == Verb::kWatch) {
    if (positionals.empty()) return UsageError("'watch' needs at least one article id");
    for (const std::string& positional : positionals) {
      auto name = ArticleName(positional);
      if (!name.ok()) return name.status();
      command.article_names.push_back(*std::move(name));
    }
    return command;
  }
  const std::size_t wanted = (command.verb == Verb::kList || command.verb == Verb::kTop) ? 0 : 1;
  if (positionals.size() < wanted) {
    return UsageError(absl::StrCat("'", *verb_name, "' needs ",
                                   command.verb == Verb::kCreate ? "a file" : "an article id"));
  }
  if (positionals.size() > wanted) {
    return UsageError(
        absl::StrCat("unexpected argument '", positionals[wanted], "' for '", *verb_name, "'"));
  }
  if (command.verb == Verb::kCreate) {
    command.file = positionals[0];
  } else if (wanted == 1) {
    auto name = ArticleName(positionals[0]);
    if (!name.ok()) return name.status();
    command.article_name = *std::move(name);
  }
  return command;
}

}  // namespace newsroom::cli
