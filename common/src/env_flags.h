#pragma once

// Settings from environment variables, for deployments (Kubernetes manifests) that pass every
// setting as one. Each binary lists, in one table, which variable sets which of its flags; main()
// applies the environment to the flags before absl::ParseCommandLine, so a flag on the command line
// still wins, and refuses variables with the binary's prefix that the table does not know, so a
// typo in a manifest fails the rollout instead of being ignored.

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace newsroom {

// One environment variable and the flag it sets.
struct EnvFlag {
  const char* env;   // e.g. "CONTENT_LISTEN"
  const char* flag;  // the flag's declared name, e.g. "listen" (underscores, no dashes)
};

// What a binary reads from its environment.
struct EnvSettings {
  // Variables starting with it belong to this binary: unknown ones are refused. E.g. "CONTENT_".
  absl::string_view prefix;
  // Every flag the binary defines, each with its variable.
  absl::Span<const EnvFlag> flags;
  // Variables read directly rather than through a flag: secrets, which must never be flags (`ps`
  // shows command lines), e.g. "EDITOR_TOKEN".
  absl::Span<const char* const> env_only;
};

// The environment as NAME -> VALUE.
using Environment = std::map<std::string, std::string>;

// Returns `envp` (a NULL-terminated array of "NAME=VALUE", such as `environ`) as a map.
[[nodiscard]] Environment ReadEnvironment(char** envp);

// Returns true when `name` has the shape of a variable kubelet injects into every container for
// every Service in its namespace (a Service `content-service` with a port named `grpc` gives
// CONTENT_SERVICE_SERVICE_HOST, CONTENT_SERVICE_SERVICE_PORT, CONTENT_SERVICE_SERVICE_PORT_GRPC,
// CONTENT_SERVICE_PORT, CONTENT_SERVICE_PORT_50051_TCP and that with _PROTO, _PORT or _ADDR).
// They share our prefixes but are not settings, so they must not be refused.
[[nodiscard]] bool IsKubernetesServiceLink(absl::string_view name);

// Returns, sorted, the names in `environment` that start with `settings.prefix` but are neither in
// `settings` nor Kubernetes service links.
[[nodiscard]] std::vector<std::string> UnknownEnvNames(const EnvSettings& settings,
                                                       const Environment& environment);

// Returns INTERNAL when an entry of `settings.flags` names no registered flag, or a flag whose
// help text does not end with "(env NAME)" naming its variable; a programming error, caught by
// the binaries' unit tests and, should one slip through, at start.
[[nodiscard]] absl::Status CheckEnvSettings(const EnvSettings& settings);

// Sets every flag whose variable is set and not empty in `environment` (empty means unset).
// Returns INTERNAL as CheckEnvSettings does; INVALID_ARGUMENT listing the unknown names and the
// known ones when UnknownEnvNames is not empty; INVALID_ARGUMENT "env NAME: ..." for a value its
// flag cannot parse. Call before absl::ParseCommandLine, so that the command line wins.
[[nodiscard]] absl::Status ApplyEnvironment(const EnvSettings& settings,
                                            const Environment& environment);

}  // namespace newsroom
