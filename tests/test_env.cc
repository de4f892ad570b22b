// Linked into every berth_test() binary: points BERTH_BUILD_DIR and BERTH_SOURCE_DIR at this
// build and source tree unless the caller set them, so a test binary finds the programs and
// fixtures it needs whether CTest or a developer runs it.
#include <cstdlib>

namespace {

struct TestEnvironment {
  TestEnvironment() {
    ::setenv("BERTH_BUILD_DIR", BERTH_TEST_BUILD_DIR, 0);
    ::setenv("BERTH_SOURCE_DIR", BERTH_TEST_SOURCE_DIR, 0);
  }
};
const TestEnvironment kTestEnvironment;

}  // namespace
