#include "common/src/tls_credentials.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

namespace newsroom {
namespace {

using grpc::experimental::FileWatcherCertificateProvider;

unsigned int RefreshSeconds(absl::Duration interval) {
  return static_cast<unsigned int>(std::max<int64_t>(1, absl::ToInt64Seconds(interval)));
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(const ServerTlsOptions& options) {
  if (!options.enabled()) return grpc::InsecureServerCredentials();
  const unsigned int refresh = RefreshSeconds(options.refresh_interval);
  const bool verify_clients = !options.client_ca_file.empty();
  auto provider = std::make_shared<FileWatcherCertificateProvider>(
      options.key_file, options.cert_file, options.client_ca_file, refresh);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (verify_clients) {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(const ClientTlsOptions& options) {
  if (!options.enabled()) return grpc::InsecureChannelCredentials();
  const unsigned int refresh = RefreshSeconds(options.refresh_interval);
  const bool has_identity = !options.cert_file.empty();
  auto provider = std::make_shared<FileWatcherCertificateProvider>(
      has_identity ? options.key_file : "", has_identity ? options.cert_file : "", options.ca_file,
      refresh);
  grpc::experimental::TlsChannelCredentialsOptions tls;
  tls.set_certificate_provider(provider);
  tls.watch_root_certs();
  if (has_identity) tls.watch_identity_key_cert_pairs();
  tls.set_verify_server_certs(true);
  // Said explicitly rather than left to gRPC's default: the server's certificate must name the
  // host this channel was created for.
  tls.set_certificate_verifier(std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  return grpc::experimental::TlsCredentials(tls);
}

}  // namespace newsroom
