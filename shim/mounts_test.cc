#include "shim/mounts.h"

#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth::shim {
namespace {

TEST(ShimMounts, OptionsSplitIntoFlagsAndData) {
  auto o = ParseMountOptions({"ro", "nosuid", "index=off", "lowerdir=/a:/b", "rbind", "rprivate"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID | MS_BIND | MS_REC));
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(o.data, "index=off,lowerdir=/a:/b");
  auto rw = ParseMountOptions({"ro", "rw", "defaults"});
  EXPECT_EQ(rw.flags, 0u);
  EXPECT_EQ(rw.data, "");
}

// Needs root (as every shim test): a read-only bind mount is really read-only, and UnmountAll
// takes it away and is happy to run again.
TEST(ShimMounts, BindMountReadOnlyAndUnmount) {
  auto dir = TempDir::Create("b");
  ASSERT_TRUE(dir.ok());
  std::string source = dir->Join("src"), target = dir->Join("rootfs");
  ASSERT_TRUE(MakeDirs(source).ok());
  ASSERT_TRUE(WriteFileAtomic(source + "/file", "x").ok());
  Status s = MountAll({{"bind", source, {"rbind", "ro"}}}, target);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadFile(target + "/file").value(), "x");
  EXPECT_NE(::access((target + "/file").c_str(), W_OK), 0);
  EXPECT_EQ(errno, EROFS);
  ASSERT_TRUE(UnmountAll(target).ok());
  EXPECT_NE(::access((target + "/file").c_str(), F_OK), 0);
  EXPECT_TRUE(UnmountAll(target).ok());
  EXPECT_TRUE(UnmountAll(dir->Join("missing")).ok());
}

TEST(ShimMounts, FailureNamesTheMount) {
  auto dir = TempDir::Create("b");
  ASSERT_TRUE(dir.ok());
  Status s = MountAll({{"bind", dir->Join("nope"), {"rbind"}}}, dir->Join("rootfs"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("mount bind"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace berth::shim
