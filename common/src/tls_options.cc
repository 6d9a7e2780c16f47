#include "common/src/tls_options.h"

#include "absl/strings/str_cat.h"
#include "common/src/status_macros.h"
#include "common/src/tls_pem.h"

namespace newsroom {
namespace {

absl::Status Invalid(absl::string_view flag, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(flag, ": ", why));
}

absl::Status CheckRefreshInterval(absl::Duration interval, absl::string_view flag) {
  if (interval < absl::Seconds(1) || interval > absl::Hours(24) ||
      interval != absl::Seconds(absl::ToInt64Seconds(interval))) {
    return Invalid(flag, absl::StrCat("expected whole seconds from 1s to 24h, got ",
                                      absl::FormatDuration(interval)));
  }
  return absl::OkStatus();
}

// Both of a certificate and its key, or neither; when both, the files must be usable.
absl::Status CheckKeyPair(const std::string& cert_file, const std::string& key_file,
                          const TlsFlagNames& flags) {
  if (cert_file.empty() && key_file.empty()) return absl::OkStatus();
  if (key_file.empty()) return Invalid(flags.key, absl::StrCat("required with ", flags.cert));
  if (cert_file.empty()) return Invalid(flags.cert, absl::StrCat("required with ", flags.key));
  NEWSROOM_RETURN_IF_ERROR(CheckCertificateFile(cert_file, flags.cert));
  return CheckKeyMatchesCertificate(key_file, cert_file, flags.key);
}

}  // namespace

absl::Status CheckServerTlsOptions(const ServerTlsOptions& options, const TlsFlagNames& flags) {
  if (!options.enabled()) {
    if (!options.client_ca_file.empty()) {
      return Invalid(flags.ca, absl::StrCat("needs ", flags.cert, " and ", flags.key,
                                            ": client certificates are only asked for over TLS"));
    }
    return absl::OkStatus();
  }
  NEWSROOM_RETURN_IF_ERROR(CheckRefreshInterval(options.refresh_interval, flags.refresh));
  NEWSROOM_RETURN_IF_ERROR(CheckKeyPair(options.cert_file, options.key_file, flags));
  if (!options.client_ca_file.empty()) {
    NEWSROOM_RETURN_IF_ERROR(CheckCaFile(options.client_ca_file, flags.ca));
  }
  return absl::OkStatus();
}

absl::Status CheckClientTlsOptions(const ClientTlsOptions& options, const TlsFlagNames& flags) {
  if (!options.enabled()) {
    if (!options.cert_file.empty() || !options.key_file.empty()) {
      return Invalid(options.cert_file.empty() ? flags.key : flags.cert,
                     absl::StrCat("needs ", flags.ca,
                                  " (a client certificate is only presented "
                                  "over TLS)"));
    }
    return absl::OkStatus();
  }
  NEWSROOM_RETURN_IF_ERROR(CheckRefreshInterval(options.refresh_interval, flags.refresh));
  NEWSROOM_RETURN_IF_ERROR(CheckCaFile(options.ca_file, flags.ca));
  return CheckKeyPair(options.cert_file, options.key_file, flags);
}

}  // namespace newsroom
