// The newsroom CLI: parses the command line, connects to content-service and runs one command.

#include <iostream>
#include <string>
#include <vector>

#include "cli/src/args.h"
#include "cli/src/commands.h"
#include "cli/src/grpc_content_client.h"
#include "common/src/env.h"

int main(int argc, char** argv) {
  using namespace newsroom::cli;  // NOLINT(build/namespaces): main is the only user
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<Command> command =
      ParseCommandLine(args, newsroom::EnvOr("NEWSROOM_ADDR", kDefaultAddress));
  if (!command.ok()) {
    std::cerr << "newsroom: " << command.status().message() << "\n\n" << UsageText();
    return kExitUsage;
  }
  if (command->verb == Verb::kHelp) {
    std::cerr << UsageText();
    return kExitUsage;
  }
  std::unique_ptr<GrpcContentClient> client =
      GrpcContentClient::Connect(command->address, command->timeout);
  int code = RunCommand(*command, *client, std::cout, std::cerr);
  std::cout.flush();
  return code;
}
