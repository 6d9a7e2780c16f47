#include "common/src/flag_names.h"

#include <algorithm>

namespace newsroom {

std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (std::size_t i = 1; i < args.size(); ++i) {
    std::string& arg = args[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;
    const std::size_t name_start = arg[1] == '-' ? 2 : 1;
    const std::size_t name_end = std::min(arg.find('='), arg.size());
    for (std::size_t k = name_start; k < name_end; ++k) {
      if (arg[k] == '-') arg[k] = '_';
    }
  }
  return args;
}

}  // namespace newsroom
