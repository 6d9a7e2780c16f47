#include "content-service/src/editor_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/src/log.h"

namespace newsroom::content {
namespace {

constexpr char kTokenRequired[] = "editor token required: send 'authorization: Bearer <token>'";
constexpr char kWritesDisabled[] =
    "writes are disabled: content-service has no editor token configured";
constexpr char kTokenRefused[] = "editor token not accepted";

EditorAuth::Digest Sha256(absl::string_view data) {
  EditorAuth::Digest digest{};
  unsigned int length = 0;
  // EVP_Digest with SHA-256 cannot fail for in-memory input short of memory exhaustion, and a
  // zeroed digest then matches no real token's.
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

// Checks a configured token; `source` names where it came from (never the value).
absl::Status ValidateToken(absl::string_view token, absl::string_view source) {
  if (token.size() < EditorAuth::kMinTokenBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": the editor token must be at least ", EditorAuth::kMinTokenBytes,
                     " bytes (e.g. `openssl rand -hex 32`), got ", token.size()));
  }
  if (token.size() > EditorAuth::kMaxTokenBytes) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": the editor token must be at most ",
                                                   EditorAuth::kMaxTokenBytes, " bytes"));
  }
  for (const char c : token) {
    // What an HTTP/2 header value can carry, and no spaces: the token follows "Bearer ".
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": the editor token must be printable ASCII without spaces or line breaks"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  const std::string source = absl::StrCat("--editor_token_file=", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": cannot read: ", std::strerror(errno)));
  }
  // Reads at most a little past the limit, so a wrong path (a log, /dev/zero) is refused quickly.
  std::string token(EditorAuth::kMaxTokenBytes + 3, '\0');
  in.read(token.data(), static_cast<std::streamsize>(token.size()));
  if (in.bad()) return absl::InvalidArgumentError(absl::StrCat(source, ": cannot read"));
  token.resize(static_cast<std::size_t>(in.gcount()));
  // One trailing newline, as `echo` or an editor leaves it; anything else is part of the token.
  if (absl::EndsWith(token, "\n")) token.pop_back();
  if (absl::EndsWith(token, "\r")) token.pop_back();
  if (auto status = ValidateToken(token, source); !status.ok()) return status;
  return token;
}

std::optional<absl::string_view> BearerToken(absl::string_view header) {
  constexpr absl::string_view kScheme = "bearer";
  // RFC 7235: the scheme is case-insensitive, followed by one or more spaces.
  if (header.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme) ||
      header[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  absl::string_view token = absl::StripLeadingAsciiWhitespace(header.substr(kScheme.size()));
  token = absl::StripTrailingAsciiWhitespace(token);
  if (token.empty() || absl::StrContains(token, ' ')) return std::nullopt;
  return token;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EditorAuth>> EditorAuth::FromConfig(EditorAuthConfig config) {
  if (!config.token_file.empty() && !config.token.empty()) {
    return absl::InvalidArgumentError(
        "--editor_token_file (or EDITOR_TOKEN_FILE) and EDITOR_TOKEN are both set: use one");
  }
  if (config.reload_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("editor token reload interval must not be negative");
  }
  std::string token;
  std::string source;
  if (!config.token_file.empty()) {
    auto from_file = ReadTokenFile(config.token_file);
    if (!from_file.ok()) return from_file.status();
    token = *std::move(from_file);
    source = absl::StrCat("--editor_token_file=", config.token_file);
  } else if (!config.token.empty()) {
    if (auto status = ValidateToken(config.token, "EDITOR_TOKEN"); !status.ok()) return status;
    token = std::move(config.token);
    source = "EDITOR_TOKEN";
  }
  const FileStamp stamp = config.token_file.empty() ? FileStamp{} : StampOf(config.token_file);
  const Digest digest = Sha256(token);
  return std::unique_ptr<EditorAuth>(
      new EditorAuth(std::move(config), std::move(source), digest, stamp));
}

EditorAuth::EditorAuth(EditorAuthConfig config, std::string source, Digest digest, FileStamp stamp)
    : enabled_(!source.empty()),
      token_file_(std::move(config.token_file)),
      source_(std::move(source)),
      reload_interval_(config.reload_interval),
      digest_(digest),
      stamp_(stamp),
      next_check_(absl::Now() + reload_interval_) {}

EditorAuth::FileStamp EditorAuth::StampOf(const std::string& path) {
  struct stat st {};
  // stat follows symlinks, so a swapped link target shows as a new inode.
  if (stat(path.c_str(), &st) != 0) return FileStamp{};
  return {.exists = true,
          .device = static_cast<std::uint64_t>(st.st_dev),
          .inode = static_cast<std::uint64_t>(st.st_ino),
          .size = static_cast<std::uint64_t>(st.st_size),
          .mtime_ns = std::int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
}

absl::Status EditorAuth::Authorize(absl::string_view authorization_header) const {
  if (!enabled_) return absl::PermissionDeniedError(kWritesDisabled);
  const std::optional<absl::string_view> token = BearerToken(authorization_header);
  if (!token.has_value()) return absl::UnauthenticatedError(kTokenRequired);
  // Both sides are hashed to 32 bytes first, so the comparison takes the same time whatever the
  // presented token's length or how many of its leading bytes are right.
  const Digest presented = Sha256(*token);
  const Digest expected = CurrentDigest();
  if (CRYPTO_memcmp(presented.data(), expected.data(), presented.size()) != 0) {
    return absl::PermissionDeniedError(kTokenRefused);
  }
  return absl::OkStatus();
}

EditorAuth::Digest EditorAuth::CurrentDigest() const {
  absl::MutexLock lock(&mu_);
  if (token_file_.empty()) return digest_;
  const absl::Time now = absl::Now();
  if (now < next_check_) return digest_;
  next_check_ = now + reload_interval_;

  const FileStamp stamp = StampOf(token_file_);
  if (stamp == stamp_) return digest_;
  // Remembered even when the new file is unusable, so that it is reported once, not every second.
  stamp_ = stamp;
  if (!stamp.exists) {
    log::Warning("editor token file is gone; keeping the previous editor token",
                 {{"file", source_}});
    return digest_;
  }
  auto token = ReadTokenFile(token_file_);
  if (!token.ok()) {
    log::Warning("cannot use the editor token file; keeping the previous editor token",
                 {{"error", token.status().message()}});
    return digest_;
  }
  digest_ = Sha256(*token);
  log::Info("editor token reloaded", {{"file", token_file_}});
  return digest_;
}

}  // namespace newsroom::content
