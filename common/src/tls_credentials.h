#pragma once

// gRPC credentials from ServerTlsOptions / ClientTlsOptions. With TLS, certificates, keys and CAs
// are read by gRPC's FileWatcherCertificateProvider, which re-reads them every refresh interval:
// new connections get the rotated files without a restart (connections already open keep theirs).

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>

#include "common/src/tls_options.h"

namespace newsroom {

// Plaintext when `options` is not enabled. Otherwise TLS; with a client CA the handshake requires
// a client certificate and verifies it against that CA (expiry included), so a caller without a
// trusted certificate never reaches a handler. Call CheckServerTlsOptions first.
[[nodiscard]] std::shared_ptr<grpc::ServerCredentials> MakeServerCredentials(
    const ServerTlsOptions& options);

// Plaintext when `options` is not enabled. Otherwise TLS that verifies the server's certificate
// against the CA and its name (a DNS or IP SAN) against the target's host, presenting the client
// certificate when one is given. Call CheckClientTlsOptions first.
[[nodiscard]] std::shared_ptr<grpc::ChannelCredentials> MakeChannelCredentials(
    const ClientTlsOptions& options);

}  // namespace newsroom
