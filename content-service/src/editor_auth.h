#pragma once

// Editor authentication for content-service's write RPCs (CreateArticle, UpdateArticle,
// DeleteArticle): callers send `authorization: Bearer <token>`, compared in constant time with the
// configured editor token. Plain C++ (no gRPC) so that every rule is unit-tested.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace newsroom::content {

// Where the editor token comes from. At most one of the two may be set; with neither, every write
// is refused (never silently open).
struct EditorAuthConfig {
  std::string token_file;  // --editor_token_file / EDITOR_TOKEN_FILE; re-read when it changes
  std::string token;       // EDITOR_TOKEN (the value itself, so never a flag: `ps` would show it)
  // How often at most the token file is checked for a change (a stat per write RPC otherwise).
  absl::Duration reload_interval = absl::Seconds(1);
};

class EditorAuth final {
 public:
  // A token shorter than this is refused at start-up: 16 bytes is 128 bits when random, and
  // anything shorter is more likely a placeholder ("changeme") than a secret.
  static constexpr std::size_t kMinTokenBytes = 16;
  // gRPC's default metadata limit is 8 KiB; a longer token could not be sent anyway.
  static constexpr std::size_t kMaxTokenBytes = 4096;

  // Returns the authenticator for `config`: INVALID_ARGUMENT naming the source (flag or env var,
  // never the value) when both sources are set, the file cannot be read, or the token is shorter
  // than kMinTokenBytes, longer than kMaxTokenBytes or not printable ASCII without spaces. One
  // trailing newline ("\n" or "\r\n") is trimmed from the file.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<EditorAuth>> FromConfig(
      EditorAuthConfig config);

  // Checks the value of the call's `authorization` header ("" when absent). Returns OK for
  // `Bearer <the token>` (scheme case-insensitive), UNAUTHENTICATED when the header is missing or
  // not a Bearer credential, PERMISSION_DENIED for any other token and, whatever the header, when
  // no token is configured. When the token comes from a file, the file is checked for a change at
  // most once per reload interval; a changed file that is unreadable or invalid keeps the previous
  // token (and says so on stderr). Thread-safe.
  [[nodiscard]] absl::Status Authorize(absl::string_view authorization_header) const;

  // Whether a token is configured (writes can be authorized at all).
  [[nodiscard]] bool enabled() const { return enabled_; }

  // Where the token comes from, for the start-up log line: the flag with its path, "EDITOR_TOKEN",
  // or "" when none is configured. Never the token.
  [[nodiscard]] const std::string& source() const { return source_; }

  using Digest = std::array<std::uint8_t, 32>;  // SHA-256

 private:
  // The file's identity, to notice a rewrite, a rename over it or a symlink swap (Kubernetes).
  struct FileStamp {
    bool exists = false;
    std::uint64_t device = 0, inode = 0, size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };

  static FileStamp StampOf(const std::string& path);

  EditorAuth(EditorAuthConfig config, std::string source, Digest digest, FileStamp stamp);

  // The digest to compare with, after re-reading the token file if it is due and has changed.
  Digest CurrentDigest() const;

  const bool enabled_;
  const std::string token_file_;
  const std::string source_;
  const absl::Duration reload_interval_;

  mutable absl::Mutex mu_;
  mutable Digest digest_ ABSL_GUARDED_BY(mu_);
  mutable FileStamp stamp_ ABSL_GUARDED_BY(mu_);
  mutable absl::Time next_check_ ABSL_GUARDED_BY(mu_);
};

}  // namespace newsroom::content
