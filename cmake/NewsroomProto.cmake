# newsroom_proto_library(NAME PROTO_ROOT <dir> PROTOS <file>...)
#
# Generates C++ messages and gRPC stubs for PROTOS (paths relative to PROTO_ROOT) into the build tree
# and wraps them in one static library that exports its include directory.
function(newsroom_proto_library name)
  cmake_parse_arguments(ARG "" "PROTO_ROOT" "PROTOS" ${ARGN})
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/gen")
  file(MAKE_DIRECTORY "${out_dir}")
  set(sources)
  foreach(proto IN LISTS ARG_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" stem "${proto}")
    set(generated
        "${out_dir}/${stem}.pb.cc" "${out_dir}/${stem}.pb.h"
        "${out_dir}/${stem}.grpc.pb.cc" "${out_dir}/${stem}.grpc.pb.h")
    add_custom_command(
      OUTPUT ${generated}
      COMMAND protobuf::protoc
        --proto_path=${ARG_PROTO_ROOT}
        --cpp_out=${out_dir}
        --grpc_out=${out_dir}
        --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>
        ${ARG_PROTO_ROOT}/${proto}
      DEPENDS "${ARG_PROTO_ROOT}/${proto}" protobuf::protoc gRPC::grpc_cpp_plugin
      COMMENT "Generating C++ from ${proto}"
      VERBATIM)
    list(APPEND sources ${generated})
  endforeach()
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} PUBLIC "${out_dir}")
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf gRPC::grpc++)
endfunction()
