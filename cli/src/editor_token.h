#pragma once

// Where the CLI finds the editor token that create and delete send as
// `authorization: Bearer <token>`: a file (--token-file, so the token stays out of `ps`), else the
// NEWSROOM_EDITOR_TOKEN environment variable.

#include <string>

#include "absl/status/statusor.h"

namespace newsroom::cli {

// Returns the token from `token_file` when it is set (one trailing newline trimmed), else
// `env_token` (the caller reads NEWSROOM_EDITOR_TOKEN, keeping this free of the environment).
// Returns "" when neither is set, and INVALID_ARGUMENT naming the file when it cannot be read or
// holds no token.
[[nodiscard]] absl::StatusOr<std::string> ResolveEditorToken(const std::string& token_file,
                                                             const std::string& env_token);

}  // namespace newsroom::cli
