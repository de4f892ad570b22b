#include "shim/runtime_options.h"

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/temp_dir.h"
#include "containerd/runc/options/oci.pb.h"
#include "containerd/runtimeoptions/v1/api.pb.h"

namespace berth::shim {
namespace {

TEST(ShimRuntimeOptions, RuncOptionsWithPrefixedTypeUrl) {
  containerd::runc::v1::Options runc;
  runc.set_binary_name("crun");
  runc.set_root("/run/crun-test");
  runc.set_systemd_cgroup(true);
  runc.set_no_pivot_root(true);
  google::protobuf::Any any;
  any.set_type_url("type.googleapis.com/containerd.runc.v1.Options");
  runc.SerializeToString(any.mutable_value());
  RuntimeConfig config;
  ASSERT_TRUE(ApplyRuntimeOptions(any, &config).ok());
  EXPECT_EQ(config.binary, "crun");
  EXPECT_EQ(config.root, "/run/crun-test");
  EXPECT_TRUE(config.systemd_cgroup);
  EXPECT_TRUE(config.no_pivot_root);
  EXPECT_FALSE(config.no_new_keyring);
}

TEST(ShimRuntimeOptions, ConfigFileFromRuntimeOptions) {
  auto dir = TempDir::Create("b");
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(WriteFileAtomic(dir->Join("rt.toml"),
                              "# comment\n[options]\nBinaryName = 'crun'\nsystemd_cgroup = true\n"
                              "Unknown = \"ignored\"\n")
                  .ok());
  runtimeoptions::v1::Options generic;
  generic.set_config_path(dir->Join("rt.toml"));
  google::protobuf::Any any;
  any.set_type_url("runtimeoptions.v1.Options");
  generic.SerializeToString(any.mutable_value());
  RuntimeConfig config;
  ASSERT_TRUE(ApplyRuntimeOptions(any, &config).ok());
  EXPECT_EQ(config.binary, "crun");
  EXPECT_TRUE(config.systemd_cgroup);
}

TEST(ShimRuntimeOptions, Errors) {
  RuntimeConfig config;
  EXPECT_TRUE(ApplyRuntimeOptions(google::protobuf::Any(), &config).ok());
  EXPECT_EQ(config.binary, "runc");
  google::protobuf::Any other;
  other.set_type_url("example.Unknown");
  EXPECT_EQ(ApplyRuntimeOptions(other, &config).code(), Code::kInvalidArgument);
  EXPECT_EQ(ApplyRuntimeConfigText("BinaryName = crun\n", &config).code(), Code::kInvalidArgument);
  EXPECT_EQ(ApplyRuntimeConfigText("just words\n", &config).code(), Code::kInvalidArgument);
}

TEST(ShimRuntimeOptions, DefaultRootAndResolve) {
  EXPECT_EQ(DefaultRuntimeRoot("/usr/sbin/runc", "default"), "/run/containerd/runc/default");
  EXPECT_EQ(DefaultRuntimeRoot("crun", "k8s.io"), "/run/containerd/crun/k8s.io");
  RuntimeConfig config;
  ASSERT_TRUE(config.Resolve().ok());
  EXPECT_EQ(config.binary[0], '/');
  config.root = "/r";
  config.log_path = "/b/log.json";
  config.systemd_cgroup = true;
  EXPECT_EQ(config.GlobalArgs(),
            (std::vector<std::string>{config.binary, "--root", "/r", "--log", "/b/log.json",
                                      "--log-format", "json", "--systemd-cgroup"}));
  RuntimeConfig missing;
  missing.binary = "no-such-runtime-xyz";
  EXPECT_EQ(missing.Resolve().code(), Code::kNotFound);
}

}  // namespace
}  // namespace berth::shim
