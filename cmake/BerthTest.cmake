# berth_test(NAME SOURCES... LIBS libs... [TIMEOUT s] [LABELS l...]): a GoogleTest binary
# registered with CTest, one CTest test per GoogleTest case.
# Tests run in parallel (ctest -j), each in its own temp dirs, so they must not share state.
# Every test binary carries tests/test_env.cc, which sets BERTH_BUILD_DIR and BERTH_SOURCE_DIR.
include(GoogleTest)
function(berth_test name)
  if(NOT BERTH_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES} ${BERTH_ROOT}/tests/test_env.cc)
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  target_compile_definitions(${name} PRIVATE BERTH_TEST_BUILD_DIR="${CMAKE_BINARY_DIR}"
    BERTH_TEST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set(properties TIMEOUT ${T_TIMEOUT})
  if(T_LABELS)
    list(APPEND properties LABELS ${T_LABELS})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30 PROPERTIES ${properties})
endfunction()
