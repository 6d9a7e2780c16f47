# Warnings as errors on our own targets only; generated and third-party code keeps its own flags.
# -Wno-missing-field-initializers: C++20 designated initializers leave the fields they do not name
# at their defaults on purpose, which GCC 12 would otherwise report.
# -Wno-error=restrict: GCC 12 at -O3 reports std::string assignments from literals as overlapping
# memcpys (GCC bug 105651), which failed Release builds of the tests; it stays a warning.
function(newsroom_strict_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Werror -Wno-unused-parameter -Wno-missing-field-initializers
    $<$<CXX_COMPILER_ID:GNU>:-Wno-error=restrict>)
endfunction()
