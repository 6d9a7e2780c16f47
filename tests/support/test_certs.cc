#include "tests/support/test_certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <stdexcept>

namespace newsroom::testing {
namespace {

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("test certificates: " + what);
}

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  Check(key != nullptr, "cannot generate a P-256 key");
  return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(extension != nullptr, std::string("bad extension ") + value);
  Check(X509_add_ext(cert, extension, -1) == 1, "cannot add an extension");
  X509_EXTENSION_free(extension);
}

// A certificate for `key` named `common_name`, not yet signed.
X509* NewCertificate(EVP_PKEY* key, const std::string& common_name, long serial, long not_before,
                     long not_after) {
  X509* cert = X509_new();
  Check(cert != nullptr, "X509_new");
  X509_set_version(cert, 2);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert), not_after);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Newsroom tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return cert;
}

void WritePem(const std::string& path, X509* cert) {
  BIO* bio = BIO_new_file(path.c_str(), "w");
  Check(bio != nullptr, "cannot write " + path);
  const bool ok = PEM_write_bio_X509(bio, cert) == 1;
  BIO_free(bio);
  Check(ok, "cannot write " + path);
}

void WriteKey(const std::string& path, EVP_PKEY* key) {
  BIO* bio = BIO_new_file(path.c_str(), "w");
  Check(bio != nullptr, "cannot write " + path);
  Check(chmod(path.c_str(), 0600) == 0, "cannot chmod " + path);
  const bool ok = PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  BIO_free(bio);
  Check(ok, "cannot write " + path);
}

X509* ParsePem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  Check(cert != nullptr, "not a PEM certificate");
  return cert;
}

}  // namespace

TestCa::TestCa(const std::string& common_name) {
  key_ = NewKey();
  cert_ = NewCertificate(key_, common_name, 1, -3600, 30L * 24 * 3600);
  X509_set_issuer_name(cert_, X509_get_subject_name(cert_));
  AddExtension(cert_, cert_, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert_, cert_, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(cert_, cert_, NID_subject_key_identifier, "hash");
  Check(X509_sign(cert_, key_, EVP_sha256()) > 0, "cannot self-sign the CA");
}

TestCa::~TestCa() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

void TestCa::WriteCertificate(const std::string& path) const { WritePem(path, cert_); }

void TestCa::Issue(const LeafOptions& options, const std::string& cert_path,
                   const std::string& key_path) const {
  EVP_PKEY* key = NewKey();
  X509* cert = NewCertificate(key, options.common_name, options.serial, options.not_before,
                              options.not_after);
  X509_set_issuer_name(cert, X509_get_subject_name(cert_));
  AddExtension(cert, cert_, NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert, cert_, NID_key_usage, "critical,digitalSignature,keyEncipherment");
  AddExtension(cert, cert_, NID_authority_key_identifier, "keyid");
  if (options.server) {
    AddExtension(cert, cert_, NID_ext_key_usage, "serverAuth");
    AddExtension(cert, cert_, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
  } else {
    AddExtension(cert, cert_, NID_ext_key_usage, "clientAuth");
  }
  const bool signed_ok = X509_sign(cert, key_, EVP_sha256()) > 0;
  if (signed_ok) {
    WritePem(cert_path, cert);
    WriteKey(key_path, key);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  Check(signed_ok, "cannot sign a leaf certificate");
}

std::string CertificateCommonName(const std::string& pem) {
  X509* cert = ParsePem(pem);
  char name[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name));
  X509_free(cert);
  return name;
}

std::string CertificateSerial(const std::string& pem) {
  X509* cert = ParsePem(pem);
  BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr);
  char* text = BN_bn2dec(serial);
  std::string result = text;
  OPENSSL_free(text);
  BN_free(serial);
  X509_free(cert);
  return result;
}

}  // namespace newsroom::testing
