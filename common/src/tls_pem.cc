#include "common/src/tls_pem.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/str_cat.h"

namespace newsroom {
namespace {

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Certificate = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

absl::Status Invalid(absl::string_view flag, absl::string_view path, absl::string_view why) {
  // gRPC's handshakes read OpenSSL's per-thread error queue: leave nothing stale in it.
  ERR_clear_error();
  return absl::InvalidArgumentError(absl::StrCat(flag, ": \"", path, "\" ", why));
}

// The first certificate in `path`, or the reason there is none.
absl::Status ReadFirstCertificate(const std::string& path, absl::string_view flag,
                                  Certificate& out) {
  Bio bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) return Invalid(flag, path, "cannot be read");
  out.reset(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (out == nullptr) return Invalid(flag, path, "holds no PEM certificate");
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckCertificateFile(const std::string& path, absl::string_view flag) {
  Certificate cert;
  if (absl::Status status = ReadFirstCertificate(path, flag, cert); !status.ok()) return status;
  // Every client would refuse it; better to stop now than to serve handshake failures.
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) <= 0) {
    return Invalid(flag, path, "holds a certificate that has expired");
  }
  return absl::OkStatus();
}

absl::Status CheckKeyMatchesCertificate(const std::string& key_path, const std::string& cert_path,
                                        absl::string_view key_flag) {
  Bio bio(BIO_new_file(key_path.c_str(), "r"));
  if (bio == nullptr) return Invalid(key_flag, key_path, "cannot be read");
  // No passphrase callback: an encrypted key is reported as unreadable rather than prompting.
  Key key(PEM_read_bio_PrivateKey(
      bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (key == nullptr) return Invalid(key_flag, key_path, "holds no unencrypted PEM private key");
  Certificate cert;
  if (absl::Status status = ReadFirstCertificate(cert_path, key_flag, cert); !status.ok()) {
    return status;
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return Invalid(key_flag, key_path,
                   absl::StrCat("does not belong to the certificate in \"", cert_path, "\""));
  }
  return absl::OkStatus();
}

absl::Status CheckCaFile(const std::string& path, absl::string_view flag) {
  Certificate cert;
  return ReadFirstCertificate(path, flag, cert);
}

}  // namespace newsroom
