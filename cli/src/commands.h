#pragma once

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "cli/src/args.h"
#include "cli/src/content_client.h"
#include "newsroom/content/v1/content_service.pb.h"

namespace newsroom::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcError = 1;
inline constexpr int kExitUsage = 2;

// Reads an Article in protobuf JSON mapping from `path`. Unknown fields are rejected so that a typo
// is not silently dropped. Returns INVALID_ARGUMENT naming the file when it cannot be read or is
// not a valid Article.
[[nodiscard]] absl::StatusOr<newsroom::content::v1::Article> LoadArticleFile(
    const std::string& path);

// Runs `command` (which must not be kHelp) against `client`, writing its result to `out` and any
// error as one line `newsroom: ...` to `err`. Returns the process exit status: kExitOk,
// kExitRpcError when the call failed, kExitUsage when the input (e.g. the create file) is unusable.
[[nodiscard]] int RunCommand(const Command& command, ContentClient& client, std::ostream& out,
                             std::ostream& err);

}  // namespace newsroom::cli
