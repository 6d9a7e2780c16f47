#include "cli/src/editor_token.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace newsroom::cli {

absl::StatusOr<std::string> ResolveEditorToken(const std::string& token_file,
                                               const std::string& env_token) {
  if (token_file.empty()) return env_token;
  std::ifstream in(token_file, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--token-file=", token_file, ": cannot read: ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  std::string token = contents.str();
  // One trailing newline, as `echo` or an editor leaves it.
  if (absl::EndsWith(token, "\n")) token.pop_back();
  if (absl::EndsWith(token, "\r")) token.pop_back();
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--token-file=", token_file, ": it is empty"));
  }
  return token;
}

}  // namespace newsroom::cli
