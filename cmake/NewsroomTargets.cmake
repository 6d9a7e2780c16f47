# Warnings as errors on our own targets only; generated and third-party code keeps its own flags.
function(newsroom_strict_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror -Wno-unused-parameter)
endfunction()
