#pragma once

#include <string>
#include <string_view>

// Where this build's programs and the source tree are, for tests that start or read them.
//
// Defined in a file CMake generates into each build directory (tests/support/CMakeLists.txt): the
// one object that holds the clone's absolute paths. Every other object is then the same in every
// clone, so that clones can share compiled objects (cmake/NewsroomCcache.cmake).
namespace newsroom::testing::build_paths {

extern const char kContentService[];
extern const char kAnalyticsService[];
extern const char kCli[];  // newsroom, the command-line client
extern const char kEmptyServer[];
extern const char kLoadGenerator[];
extern const char kSourceDir[];  // the repository's root

// A file of the source tree, from its path relative to the root.
inline std::string SourcePath(std::string_view relative) {
  return std::string(kSourceDir) + "/" + std::string(relative);
}

}  // namespace newsroom::testing::build_paths
