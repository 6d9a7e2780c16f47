#pragma once

// The newsroom command line, parsed into a plain struct by a pure function so that every rule
// (which flags go with which subcommand, what a value must look like) is unit-tested.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "newsroom/analytics/v1/analytics_service.pb.h"

namespace newsroom::cli {

inline constexpr char kDefaultAddress[] = "127.0.0.1:50051";
inline constexpr absl::Duration kDefaultTimeout = absl::Seconds(5);

enum class Verb { kHelp, kGet, kRead, kList, kTop, kCreate, kDelete, kStats, kWatch };

struct Command {
  Verb verb = Verb::kHelp;

  // Global flags, accepted anywhere after the program name.
  std::string address = kDefaultAddress;     // --addr
  absl::Duration timeout = kDefaultTimeout;  // --timeout
  bool json = false;                         // --json
  std::string token_file;                    // --token-file: the editor token for create/delete
  std::string tls_ca;                        // --tls-ca: CA for content-service (TLS)

  // get, read, delete, stats: the article, always as `articles/{id}`.
  std::string article_name;

  // read
  std::string reader_id;  // --reader
  std::string read_id;    // --read-id

  // list
  std::string tag;         // --tag
  int32_t page_size = 0;   // --page-size (0: the server's default)
  std::string page_token;  // --page-token

  // top
  newsroom::analytics::v1::Period period = newsroom::analytics::v1::PERIOD_ALL_TIME;  // --period
  int32_t limit = 0;  // --limit (0: the server's default)

  // watch: the articles (as `articles/{id}`) and how long to watch (infinite: until Ctrl-C)
  std::vector<std::string> article_names;
  absl::Duration duration = absl::InfiniteDuration();  // --duration

  // create
  std::string file;        // positional
  std::string article_id;  // --id; empty means "take it from the file's name"
};

// The usage text printed by `newsroom help`, with no arguments, and after a usage error.
[[nodiscard]] const char* UsageText();

// Parses `args` (argv without the program name). `default_address` is the --addr default (the
// caller resolves NEWSROOM_ADDR, keeping this function free of the environment). Returns
// INVALID_ARGUMENT with a one-line message for an unknown subcommand or flag, a flag used with the
// wrong subcommand, a missing or extra positional argument, or a malformed value. No arguments and
// `help`/`--help`/`-h` return a Command with verb kHelp.
[[nodiscard]] absl::StatusOr<Command> ParseCommandLine(const std::vector<std::string>& args,
                                                       const std::string& default_address);

}  // namespace newsroom::cli
