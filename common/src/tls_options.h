#pragma once

// What a service or client is told about TLS, and the start-up check of it. Both services and the
// CLI fill these from their own flags (each with its own spelling), so the flag names travel with
// the check and every error names the flag to fix.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace newsroom {

// How often gRPC re-reads the certificate files by default, so that a rotated certificate is
// served without a restart.
inline constexpr absl::Duration kDefaultTlsRefreshInterval = absl::Seconds(10);

// A server's certificate and key, and the CA that signs the client certificates it accepts.
struct ServerTlsOptions {
  std::string cert_file;       // PEM chain, leaf first; empty (with key_file): plaintext
  std::string key_file;        // PEM private key, unencrypted
  std::string client_ca_file;  // empty: no client certificate asked for; else required + verified
  absl::Duration refresh_interval = kDefaultTlsRefreshInterval;

  [[nodiscard]] bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// A client's CA for verifying the server and, for mutual TLS, its own certificate and key.
struct ClientTlsOptions {
  std::string ca_file;    // empty: plaintext
  std::string cert_file;  // with key_file: presented to the server; both empty: none
  std::string key_file;
  absl::Duration refresh_interval = kDefaultTlsRefreshInterval;

  [[nodiscard]] bool enabled() const { return !ca_file.empty(); }
};

// The flags (as the user spells them, e.g. "--tls_cert_file") each field came from.
struct TlsFlagNames {
  absl::string_view cert;
  absl::string_view key;
  absl::string_view ca;
  absl::string_view refresh;
};

// OK, or INVALID_ARGUMENT naming the flag: a certificate without its key or the other way round,
// a client CA without a server certificate, a refresh interval that is not 1s to 24h in whole
// seconds (gRPC counts it in seconds), or a file that cannot be read, holds no PEM, has expired, or
// a key that does not belong to its certificate.
[[nodiscard]] absl::Status CheckServerTlsOptions(const ServerTlsOptions& options,
                                                 const TlsFlagNames& flags);

// As above for a client: a certificate or key without the CA, one without the other, or a bad file.
[[nodiscard]] absl::Status CheckClientTlsOptions(const ClientTlsOptions& options,
                                                 const TlsFlagNames& flags);

}  // namespace newsroom
