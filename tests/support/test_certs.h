#pragma once

// Certificates for TLS tests, made with OpenSSL's API in the test itself: a CA, and leaf
// certificates it signs for servers (SAN 127.0.0.1 and localhost) and clients, valid or expired.
// P-256 keys, so that making a handful takes milliseconds. Files are PEM; keys unencrypted, 0600.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace newsroom::testing {

struct LeafOptions {
  std::string common_name;
  bool server = true;  // serverAuth with SANs for 127.0.0.1 and localhost; else clientAuth only
  long serial = 2;
  // Validity relative to now, in seconds; an expired certificate ends in the past.
  long not_before = -3600;
  long not_after = 24 * 3600;
};

// A self-signed CA that signs leaf certificates.
class TestCa final {
 public:
  explicit TestCa(const std::string& common_name);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  // Writes the CA's certificate (PEM) to `path`.
  void WriteCertificate(const std::string& path) const;

  // Makes a key and a certificate signed by this CA and writes them to `cert_path` (PEM chain:
  // leaf only) and `key_path` (PKCS#8 PEM, mode 0600). Throws std::runtime_error on failure.
  void Issue(const LeafOptions& options, const std::string& cert_path,
             const std::string& key_path) const;

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
};

// The subject common name and the serial (decimal) of the first certificate in a PEM string.
std::string CertificateCommonName(const std::string& pem);
std::string CertificateSerial(const std::string& pem);

}  // namespace newsroom::testing
