#include "client/spec/user.h"

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth::spec {
namespace {

class UserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(MakeDirs(dir_.Join("etc")).ok());
    ASSERT_TRUE(WriteFileAtomic(dir_.Join("etc/passwd"),
                                "root:x:0:0:root:/root:/bin/sh\n"
                                "# comment\n"
                                "daemon:x:1:1::/:/bin/false\n"
                                "app:x:1000:1001:App:/home/app:/bin/sh\n"
                                "huge:x:4294967295:0::/:/bin/sh\n"
                                "broken line\n")
                    .ok());
    ASSERT_TRUE(WriteFileAtomic(dir_.Join("etc/group"),
                                "root:x:0:\n"
                                "appgrp:x:1001:\n"
                                "wheel:x:10:root,app\n"
                                "audio:x:29:app\n"
                                "other:x:30:daemon\n")
                    .ok());
  }
  TempDir dir_ = std::move(TempDir::Create("b-user").value());
  LayeredRootfsFiles files_{{dir_.path()}};
};

TEST_F(UserTest, Numeric) {
  auto u = ResolveUser("1000", files_);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1001u);  // from passwd
  EXPECT_EQ(u->additional_gids, (std::vector<uint32_t>{1001, 10, 29}));
  auto unlisted = ResolveUser("4242", files_);
  ASSERT_TRUE(unlisted.ok());
  EXPECT_EQ(unlisted->uid, 4242u);
  EXPECT_EQ(unlisted->gid, 0u);
  auto pair = ResolveUser("5:6", NoRootfsFiles());
  ASSERT_TRUE(pair.ok());
  EXPECT_EQ(pair->uid, 5u);
  EXPECT_EQ(pair->gid, 6u);
}

TEST_F(UserTest, Names) {
  auto u = ResolveUser("app", files_);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->uid, 1000u);
  EXPECT_EQ(u->gid, 1001u);
  auto g = ResolveUser("app:audio", files_);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->gid, 29u);
  auto mixed = ResolveUser("daemon:10", files_);
  ASSERT_TRUE(mixed.ok());
  EXPECT_EQ(mixed->uid, 1u);
  EXPECT_EQ(mixed->gid, 10u);
  auto root = ResolveUser("", files_);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->additional_gids, (std::vector<uint32_t>{0, 10}));
}

TEST_F(UserTest, Errors) {
  EXPECT_EQ(ResolveUser("nobody", files_).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ResolveUser("app:nogroup", files_).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ResolveUser("app", NoRootfsFiles()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ResolveUser("huge", files_).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ResolveUser("2147483648", files_).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ResolveUser("99999999999999999999", files_).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ResolveUser("1:2:3", files_).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ResolveUser(":2", files_).status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(ResolveUser("2147483647", files_).ok());
}

TEST_F(UserTest, HugeGroupFileIsRefused) {
  std::string big(kMaxAccountFileSize + 1, 'x');
  ASSERT_TRUE(WriteFileAtomic(dir_.Join("etc/group"), big).ok());
  EXPECT_EQ(ResolveUser("app", files_).status().code(), Code::kResourceExhausted);
  // Numeric user and group: no file is needed.
  EXPECT_TRUE(ResolveUser("1:2", NoRootfsFiles()).ok());
}

}  // namespace
}  // namespace berth::spec
