// The installed shape of berth-shim: small dependencies, containerd's name for it.
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>

#include "common/process.h"

namespace berth::shim {
namespace {

std::string Build() {
  const char* dir = std::getenv("BERTH_BUILD_DIR");
  return dir ? dir : ".";
}

TEST(ShimBinary, LinksNoHeavyLibraries) {
  auto ldd = RunCapture({"ldd", Build() + "/shim/berth-shim"});
  ASSERT_TRUE(ldd.ok()) << ldd.status().ToString();
  for (const char* lib : {"libcrypto", "libssl", "liblmdb", "libarchive", "libcurl", "libsystemd",
                          "libtomlplusplus"}) {
    EXPECT_EQ(ldd->find(lib), std::string::npos) << lib << " is linked:\n" << *ldd;
  }
  EXPECT_NE(ldd->find("libc.so"), std::string::npos) << *ldd;
}

TEST(ShimBinary, ContainerdNameAndVersion) {
  std::string alias = Build() + "/shim/containerd-shim-berth-v1";
  ASSERT_EQ(::access(alias.c_str(), X_OK), 0) << alias;
  auto version = RunCapture({alias, "-v"});
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_NE(version->find("berth-shim"), std::string::npos) << *version;
}

}  // namespace
}  // namespace berth::shim
