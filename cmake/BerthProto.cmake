# Code generation from api/*.proto: protoc's C++ messages plus Berth's typed ttrpc stubs
# (tools/protoc-gen-berth). Generated files go to ${BERTH_GEN_DIR}, mirroring api/, and are
# included as "berth/content/v1/content.pb.h" / ".berth.h".
if(NOT BERTH_ROOT)
  set(BERTH_ROOT ${CMAKE_SOURCE_DIR})
endif()
set(BERTH_PROTO_ROOT ${BERTH_ROOT}/api)
set(BERTH_GEN_DIR ${CMAKE_BINARY_DIR}/gen)
file(MAKE_DIRECTORY ${BERTH_GEN_DIR})

# berth_proto_library(NAME [NO_SERVICES] PROTOS rel/path.proto... [DEPS targets...])
function(berth_proto_library name)
  cmake_parse_arguments(P "NO_SERVICES" "" "PROTOS;DEPS" ${ARGN})
  set(sources)
  foreach(proto ${P_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" base ${proto})
    set(outputs ${BERTH_GEN_DIR}/${base}.pb.cc ${BERTH_GEN_DIR}/${base}.pb.h)
    set(plugin_args)
    set(plugin_deps)
    if(NOT P_NO_SERVICES)
      list(APPEND outputs ${BERTH_GEN_DIR}/${base}.berth.cc ${BERTH_GEN_DIR}/${base}.berth.h)
      set(plugin_args --plugin=protoc-gen-berth=$<TARGET_FILE:protoc-gen-berth>
                      --berth_out=${BERTH_GEN_DIR})
      set(plugin_deps protoc-gen-berth)
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc --cpp_out=${BERTH_GEN_DIR} ${plugin_args}
              -I ${BERTH_PROTO_ROOT} -I ${Protobuf_INCLUDE_DIRS} ${BERTH_PROTO_ROOT}/${proto}
      DEPENDS ${BERTH_PROTO_ROOT}/${proto} ${plugin_deps}
      COMMENT "protoc ${proto}"
      VERBATIM)
    foreach(out ${outputs})
      if(out MATCHES "\\.cc$")
        list(APPEND sources ${out})
      endif()
    endforeach()
  endforeach()
  add_library(${name} STATIC ${sources})
  # protoc's files share file-static names (schemas, descriptor tables): never merge them.
  set_target_properties(${name} PROPERTIES UNITY_BUILD OFF)
  target_include_directories(${name} PUBLIC ${BERTH_GEN_DIR} ${BERTH_ROOT})
  target_link_libraries(${name} PUBLIC protobuf::libprotobuf ${P_DEPS})
  # Generated code is not ours to warn about.
  target_compile_options(${name} PRIVATE -Wno-error -w)
endfunction()
