// The newsroom CLI: parses the command line, connects to content-service and runs one command.

#include <iostream>
#include <string>
#include <vector>

#include "cli/src/args.h"
#include "cli/src/commands.h"
#include "cli/src/grpc_content_client.h"
#include "common/src/env.h"

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
  std::unique_ptr<cli::GrpcContentClient> client =
      cli::GrpcContentClient::Connect(command->address, command->timeout);
  int code = cli::RunCommand(*command, *client, std::cout, std::cerr);
  std::cout.flush();
  return code;
}
