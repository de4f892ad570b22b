#include "client/spec/rootfs_files.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth::spec {
namespace {

TEST(LayeredRootfsFiles, TopLayerWinsAndWhiteoutsHide) {
  TempDir dir = std::move(TempDir::Create("b-rootfs").value());
  for (const char* layer : {"upper/etc", "l1/etc", "l2/etc"}) {
    ASSERT_TRUE(MakeDirs(dir.Join(layer)).ok());
  }
  ASSERT_TRUE(WriteFileAtomic(dir.Join("l1/etc/passwd"), "l1").ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Join("l2/etc/passwd"), "l2").ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Join("l2/etc/group"), "l2group").ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Join("l2/etc/shadow"), "secret").ok());
  // Whiteout of group in l1.
  ASSERT_EQ(::mknod(dir.Join("l1/etc/group").c_str(), S_IFCHR | 0600, makedev(0, 0)), 0);
  // A symlink that tries to leave the root resolves inside it.
  // (host /etc/passwd exists; inside the layer "/etc/passwd" does not).
  ASSERT_EQ(::symlink("/../../../../etc/passwd", dir.Join("upper/etc/hostname").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/loop", dir.Join("upper/etc/loop").c_str()), 0);

  auto files =
      LayeredRootfsFiles::FromMounts({{"overlay",
                                       "overlay",
                                       {"lowerdir=" + dir.Join("l1") + ":" + dir.Join("l2"),
                                        "upperdir=" + dir.Join("upper"), "workdir=/nonexistent"}}});
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_EQ((*files)->layers().size(), 3u);
  EXPECT_EQ(**(*files)->Read("/etc/passwd", 100), "l1");
  EXPECT_FALSE((*files)->Read("/etc/group", 100)->has_value());
  EXPECT_EQ(**(*files)->Read("/etc/shadow", 100), "secret");
  EXPECT_FALSE((*files)->Read("/etc/hostname", 100000)->has_value());
  EXPECT_FALSE((*files)->Read("/etc/loop", 100)->has_value());
  EXPECT_FALSE((*files)->Read("/nope/x", 100)->has_value());
  EXPECT_EQ((*files)->Read("/etc/passwd", 1).status().code(), Code::kResourceExhausted);

  auto bind = LayeredRootfsFiles::FromMounts({{"bind", dir.Join("l2"), {"rbind", "ro"}}});
  ASSERT_TRUE(bind.ok());
  EXPECT_EQ(**(*bind)->Read("/etc/passwd", 100), "l2");
  EXPECT_FALSE(LayeredRootfsFiles::FromMounts({}).ok());
  EXPECT_FALSE(LayeredRootfsFiles::FromMounts({{"nfs", "x", {}}}).ok());
}

}  // namespace
}  // namespace berth::spec
