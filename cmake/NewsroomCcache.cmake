# Compiles through ccache when it is installed (scripts/install-deps installs it), so that a build
# of sources some build on this machine has compiled before, in this clone or another, takes their
# objects from ccache's cache (~/.cache/ccache, trimmed to 5 GB by ccache) instead of compiling
# them again: a fresh clone's scripts/test, a git worktree for a benchmark baseline, a switch back
# to a branch. ccache keys an object by the compiler, its flags, the source and every file it
# includes, so a changed header or flag compiles afresh. -DNEWSROOM_CCACHE=OFF compiles everything directly.
#
# Two settings let clones in different directories share objects:
# - CCACHE_BASEDIR: ccache rewrites the absolute paths under the clone (sources, -I) to relative
#   ones before hashing, so the same file in two clones hashes the same.
# - -fdebug-prefix-map: debug information names the clone's root ".", not its absolute path (and
#   ccache, which otherwise hashes the build directory into objects with debug information, hashes
#   the mapped one). So gdb and addr2line find sources relative to the clone's root: run them there,
#   or tell gdb `directory <clone>`.
# Nothing compiled may embed another absolute path of the clone: tests find binaries and data
# through tests/support/build_paths.h, one small file compiled per build directory.
option(NEWSROOM_CCACHE "Compile through ccache when it is installed" ON)
if(NEWSROOM_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(NEWSROOM_CCACHE_PROGRAM ccache)
  if(NEWSROOM_CCACHE_PROGRAM)
    # ccache fails every compile when it cannot write its cache (a user whose home is not
    # writable, say): compile directly then.
    execute_process(COMMAND "${NEWSROOM_CCACHE_PROGRAM}" --get-config cache_dir
                    OUTPUT_VARIABLE ccache_dir OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE ccache_result)
    if(ccache_result EQUAL 0 AND NOT ccache_dir STREQUAL "")
      execute_process(COMMAND "${CMAKE_COMMAND}" -E make_directory "${ccache_dir}"
                      RESULT_VARIABLE ccache_result ERROR_QUIET)
    endif()
    if(ccache_result EQUAL 0)
      execute_process(COMMAND "${CMAKE_COMMAND}" -E touch "${ccache_dir}/.newsroom-write-check"
                      RESULT_VARIABLE ccache_result ERROR_QUIET)
      file(REMOVE "${ccache_dir}/.newsroom-write-check")
    endif()
    if(ccache_result EQUAL 0)
      set(CMAKE_CXX_COMPILER_LAUNCHER
          "${CMAKE_COMMAND}" -E env "CCACHE_BASEDIR=${PROJECT_SOURCE_DIR}" "${NEWSROOM_CCACHE_PROGRAM}")
      add_compile_options("-fdebug-prefix-map=${PROJECT_SOURCE_DIR}=.")
    else()
      message(STATUS "ccache cannot write its cache (${ccache_dir}): compiling without it")
    endif()
  endif()
endif()
