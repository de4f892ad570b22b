# berth_test(NAME SOURCES... LIBS libs...): a GoogleTest binary registered with CTest.
# Tests run in parallel (ctest -j), each in its own temp dirs, so they must not share state.
include(GoogleTest)
function(berth_test name)
  if(NOT BERTH_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 30
    PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}"
    ENVIRONMENT "BERTH_BUILD_DIR=${CMAKE_BINARY_DIR};BERTH_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
