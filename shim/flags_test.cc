#include "shim/flags.h"

#include <gtest/gtest.h>

namespace berth::shim {
namespace {

Result<ShimFlags> Parse(std::vector<const char*> args) {
  args.insert(args.begin(), "berth-shim");
  return ParseFlags(static_cast<int>(args.size()), args.data());
}

TEST(ShimFlags, ContainerdStartCommandLine) {
  auto f = Parse({"-namespace", "default", "-address", "/run/containerd/containerd.sock",
                  "-publish-binary", "/usr/bin/containerd", "-id", "c1", "-debug", "start"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->ns, "default");
  EXPECT_EQ(f->address, "/run/containerd/containerd.sock");
  EXPECT_EQ(f->publish_binary, "/usr/bin/containerd");
  EXPECT_EQ(f->id, "c1");
  EXPECT_TRUE(f->debug);
  EXPECT_EQ(f->action, "start");
}

TEST(ShimFlags, DoubleDashAndEqualsForms) {
  auto f = Parse({"--namespace=k8s.io", "-bundle=/b", "--debug=false", "-id", "x", "delete"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->ns, "k8s.io");
  EXPECT_EQ(f->bundle, "/b");
  EXPECT_FALSE(f->debug);
  EXPECT_EQ(f->action, "delete");
}

TEST(ShimFlags, VersionNeedsNoAction) {
  auto f = Parse({"-v"});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->version);
  EXPECT_EQ(f->action, "");
}

TEST(ShimFlags, Errors) {
  EXPECT_EQ(Parse({"-bogus", "start"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Parse({"-id"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Parse({"-id", "x", "launch"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Parse({"-id", "x", "start", "extra"}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(Parse({"-debug=maybe", "start"}).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace berth::shim
