#include "common/src/env_flags.h"

#include <algorithm>
#include <regex>
#include <set>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace newsroom {

Environment ReadEnvironment(char** envp) {
  Environment environment;
  for (char** entry = envp; entry != nullptr && *entry != nullptr; ++entry) {
    const absl::string_view text(*entry);
    const std::size_t equals = text.find('=');
    if (equals == absl::string_view::npos) continue;
    environment.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }
  return environment;
}

bool IsKubernetesServiceLink(absl::string_view name) {
  // <X> is the Service's name upper-cased with dashes as underscores; <NAME> a port's name, the
  // same way; <n> its number.
  static const std::regex kServiceLink(
      "[A-Z][A-Z0-9_]*_("
      "SERVICE_HOST|SERVICE_PORT|SERVICE_PORT_[A-Z0-9_]+|"    // <X>_SERVICE_HOST, ..._PORT[_<NAME>]
      "PORT|PORT_[0-9]+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?"  // <X>_PORT, <X>_PORT_<n>_TCP[_ADDR]
      ")");
  return std::regex_match(name.begin(), name.end(), kServiceLink);
}

std::vector<std::string> UnknownEnvNames(const EnvSettings& settings,
                                         const Environment& environment) {
  std::set<absl::string_view> known(settings.env_only.begin(), settings.env_only.end());
  for (const EnvFlag& entry : settings.flags) known.insert(entry.env);
  std::vector<std::string> unknown;
  for (const auto& [name, value] : environment) {
    if (absl::StartsWith(name, settings.prefix) && known.count(name) == 0 &&
        !IsKubernetesServiceLink(name)) {
      unknown.push_back(name);
    }
  }
  return unknown;  // sorted, as the map is
}

absl::Status CheckEnvSettings(const EnvSettings& settings) {
  std::set<absl::string_view> envs;
  std::set<absl::string_view> flags;
  for (const EnvFlag& entry : settings.flags) {
    if (!envs.insert(entry.env).second || !flags.insert(entry.flag).second) {
      return absl::InternalError(
          absl::StrCat("env table: ", entry.env, " -> --", entry.flag, " is listed twice"));
    }
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(entry.flag);
    if (flag == nullptr) {
      return absl::InternalError(
          absl::StrCat("env table: ", entry.env, " names --", entry.flag, ", no such flag"));
    }
    // --help is where an operator looks for a flag's variable, so it must name it.
    if (!absl::EndsWith(flag->Help(), absl::StrCat("(env ", entry.env, ")"))) {
      return absl::InternalError(absl::StrCat("env table: the help of --", entry.flag,
                                              " must end with \"(env ", entry.env, ")\""));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyEnvironment(const EnvSettings& settings, const Environment& environment) {
  if (absl::Status status = CheckEnvSettings(settings); !status.ok()) return status;
  if (const std::vector<std::string> unknown = UnknownEnvNames(settings, environment);
      !unknown.empty()) {
    std::vector<absl::string_view> known(settings.env_only.begin(), settings.env_only.end());
    for (const EnvFlag& entry : settings.flags) known.push_back(entry.env);
    std::sort(known.begin(), known.end());
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown environment variable", unknown.size() > 1 ? "s " : " ",
        absl::StrJoin(unknown, ", "), " (a typo?); the ", settings.prefix,
        "* variables are settings, and the known ones are ", absl::StrJoin(known, ", ")));
  }
  for (const EnvFlag& entry : settings.flags) {
    const auto value = environment.find(entry.env);
    if (value == environment.end() || value->second.empty()) continue;
    std::string error;
    if (!absl::FindCommandLineFlag(entry.flag)->ParseFrom(value->second, &error)) {
      return absl::InvalidArgumentError(absl::StrCat("env ", entry.env, ": ", error));
    }
  }
  return absl::OkStatus();
}

}  // namespace newsroom
