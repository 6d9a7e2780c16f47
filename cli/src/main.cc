// The newsroom CLI: parses the command line, connects to content-service and runs one command.

#include <signal.h>

#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "cli/src/args.h"
#include "cli/src/commands.h"
#include "cli/src/editor_token.h"
#include "cli/src/grpc_content_client.h"
#include "common/src/env.h"
#include "common/src/tls_credentials.h"

int main(int argc, char** argv) {
  namespace cli = ::newsroom::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<cli::Command> command =
      cli::ParseCommandLine(args, newsroom::EnvOr("NEWSROOM_ADDR", cli::kDefaultAddress));
  if (!command.ok()) {
    std::cerr << "newsroom: " << command.status().message() << "\n\n" << cli::UsageText();
    return cli::kExitUsage;
  }
  if (command->verb == cli::Verb::kHelp) {
    std::cerr << cli::UsageText();
    return cli::kExitUsage;
  }
  std::string editor_token;
  if (command->verb == cli::Verb::kCreate || command->verb == cli::Verb::kDelete) {
    absl::StatusOr<std::string> token =
        cli::ResolveEditorToken(command->token_file, newsroom::EnvOr("NEWSROOM_EDITOR_TOKEN", ""));
    if (!token.ok()) {
      std::cerr << "newsroom: " << token.status().message() << "\n";
      return cli::kExitUsage;
    }
    // Refused here rather than by the server, with what to do about it.
    if (token->empty()) {
      std::cerr << "newsroom: create and delete need the editor token: set "
                   "NEWSROOM_EDITOR_TOKEN or pass --token-file=PATH\n";
      return cli::kExitUsage;
    }
    editor_token = *std::move(token);
  }
  // watch runs until Ctrl-C (or SIGTERM): the signal ends the stream and the command succeeds.
  // Blocked here, before gRPC starts its threads, so that only the waiting thread receives it.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (command->verb == cli::Verb::kWatch) pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // TLS when given a CA: checked here, so that a wrong path is a usage error naming the flag
  // rather than an UNAVAILABLE from the handshake.
  const newsroom::ClientTlsOptions tls{.ca_file = command->tls_ca.empty()
                                                      ? newsroom::EnvOr("NEWSROOM_TLS_CA", "")
                                                      : command->tls_ca};
  if (absl::Status status = newsroom::CheckClientTlsOptions(
          tls, {.ca = "--tls-ca (or NEWSROOM_TLS_CA)", .refresh = "--tls-ca"});
      !status.ok()) {
    std::cerr << "newsroom: " << status.message() << "\n";
    return cli::kExitUsage;
  }
  std::unique_ptr<cli::GrpcContentClient> client =
      cli::GrpcContentClient::Connect(command->address, command->timeout, std::move(editor_token),
                                      newsroom::MakeChannelCredentials(tls));
  if (command->verb == cli::Verb::kWatch) {
    std::thread([&stop_signals, client = client.get()] {
      int signal_number = 0;
      while (sigwait(&stop_signals, &signal_number) != 0) {
      }
      client->StopWatch();
    }).detach();  // still waiting when the command ends by itself; the process exits then
  }
  int code = cli::RunCommand(*command, *client, std::cout, std::cerr);
  std::cout.flush();
  return code;
}
