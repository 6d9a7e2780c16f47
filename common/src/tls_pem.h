#pragma once

// Start-up checks of the PEM files TLS is configured with. gRPC's file watcher only logs a file it
// cannot use and then fails every handshake, so a wrong path or a key that does not belong to its
// certificate would surface as "UNAVAILABLE" on every call; these turn it into one clear line at
// start instead. Messages name the flag and the path, never key material.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace newsroom {

// OK when `path` holds at least one PEM certificate and the first one has not expired; otherwise
// INVALID_ARGUMENT starting with `flag`.
[[nodiscard]] absl::Status CheckCertificateFile(const std::string& path, absl::string_view flag);

// OK when `key_path` holds a PEM private key that belongs to the first certificate in
// `cert_path`; otherwise INVALID_ARGUMENT starting with `key_flag`.
[[nodiscard]] absl::Status CheckKeyMatchesCertificate(const std::string& key_path,
                                                      const std::string& cert_path,
                                                      absl::string_view key_flag);

// OK when `path` holds at least one PEM certificate (a CA bundle); otherwise INVALID_ARGUMENT
// starting with `flag`.
[[nodiscard]] absl::Status CheckCaFile(const std::string& path, absl::string_view flag);

}  // namespace newsroom
