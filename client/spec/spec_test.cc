#include "client/spec/spec.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "client/spec/validate.h"
#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth::spec {
namespace {

using json = nlohmann::json;

json BusyboxConfig() {
  return json::parse(R"({"architecture":"amd64","os":"linux",
    "config":{"Env":["PATH=/bin:/usr/bin","FOO=image"],"Cmd":["sh"],"WorkingDir":"/work"},
    "rootfs":{"type":"layers","diff_ids":[]}})");
}

bool Contains(const json& array, const std::string& value) {
  return std::find(array.begin(), array.end(), value) != array.end();
}

TEST(GenerateSpec, DefaultsFollowContainerd) {
  SpecOptions o;
  o.ns = "ns1";
  o.id = "c1";
  auto spec = GenerateSpec(BusyboxConfig(), o, NoRootfsFiles());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_TRUE(ValidateSpec(*spec).ok()) << ValidateSpec(*spec).ToString();
  const json& s = *spec;
  EXPECT_EQ(s["ociVersion"], kOciVersion);
  EXPECT_EQ(s["process"]["args"], json({"sh"}));
  EXPECT_EQ(s["process"]["cwd"], "/work");
  EXPECT_EQ(s["process"]["env"], json({"PATH=/bin:/usr/bin", "FOO=image"}));
  EXPECT_EQ(s["process"]["user"]["uid"], 0);
  EXPECT_EQ(s["process"]["noNewPrivileges"], true);
  EXPECT_EQ(s["process"]["capabilities"]["bounding"].size(), 14u);
  EXPECT_FALSE(Contains(s["process"]["capabilities"]["bounding"], "CAP_SYS_ADMIN"));
  EXPECT_EQ(s["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
  EXPECT_EQ(s["hostname"], "c1");
  EXPECT_EQ(s["root"]["path"], "rootfs");
  EXPECT_EQ(s["root"]["readonly"], false);
  EXPECT_EQ(s["linux"]["cgroupsPath"], "/berth/ns1/c1");
  std::vector<std::string> types;
  for (const auto& n : s["linux"]["namespaces"]) types.push_back(n["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"pid", "ipc", "uts", "mount", "network"}));
  EXPECT_TRUE(Contains(s["linux"]["maskedPaths"], "/proc/kcore"));
  EXPECT_TRUE(Contains(s["linux"]["readonlyPaths"], "/proc/sys"));
  std::vector<std::string> dests;
  for (const auto& m : s["mounts"]) dests.push_back(m["destination"]);
  EXPECT_EQ(dests, (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
                                             "/sys", "/run"}));
  EXPECT_EQ(s["linux"]["resources"]["devices"][0]["allow"], false);
}

TEST(GenerateSpec, FlagsOverrideTheImage) {
  TempDir dir = std::move(TempDir::Create("b-spec").value());
  SpecOptions o;
  o.id = "c2";
  o.args = {"echo", "hi"};
  o.env = {"FOO=flag", "NEW=1"};
  o.cwd = "/tmp";
  o.user = "123:456";
  o.read_only = true;
  o.terminal = true;
  o.memory_limit = 64 << 20;
  o.cpus = 0.5;
  o.hostname = "box";
  o.mounts.push_back(
      *ParseMountFlag("type=bind,src=" + dir.path() + ",dst=/data,options=rbind:ro"));
  auto spec = GenerateSpec(BusyboxConfig(), o, NoRootfsFiles());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  ASSERT_TRUE(ValidateSpec(*spec).ok()) << ValidateSpec(*spec).ToString();
  const json& s = *spec;
  EXPECT_EQ(s["process"]["args"], json({"echo", "hi"}));
  EXPECT_EQ(s["process"]["env"], json({"PATH=/bin:/usr/bin", "FOO=flag", "TERM=xterm", "NEW=1"}));
  EXPECT_EQ(s["process"]["cwd"], "/tmp");
  EXPECT_EQ(s["process"]["user"]["uid"], 123);
  EXPECT_EQ(s["process"]["user"]["gid"], 456);
  EXPECT_EQ(s["process"]["terminal"], true);
  EXPECT_EQ(s["root"]["readonly"], true);
  EXPECT_EQ(s["hostname"], "box");
  EXPECT_EQ(s["linux"]["resources"]["memory"]["limit"], 64 << 20);
  EXPECT_EQ(s["linux"]["resources"]["cpu"]["quota"], 50000);
  EXPECT_EQ(s["linux"]["resources"]["cpu"]["period"], 100000);
  const json& last = s["mounts"].back();
  EXPECT_EQ(last["destination"], "/data");
  EXPECT_EQ(last["source"], dir.path());
  EXPECT_EQ(last["options"], json({"rbind", "ro"}));
}

TEST(GenerateSpec, EntrypointAndCmd) {
  json config = {{"config", {{"Entrypoint", {"/bin/app", "--flag"}}, {"Cmd", {"default"}}}}};
  SpecOptions o;
  o.id = "c";
  EXPECT_EQ((*GenerateSpec(config, o, NoRootfsFiles()))["process"]["args"],
            json({"/bin/app", "--flag", "default"}));
  o.args = {"x", "y"};
  EXPECT_EQ((*GenerateSpec(config, o, NoRootfsFiles()))["process"]["args"],
            json({"/bin/app", "--flag", "x", "y"}));
  o.entrypoint = std::vector<std::string>{"/bin/other"};
  o.args.clear();
  EXPECT_EQ((*GenerateSpec(config, o, NoRootfsFiles()))["process"]["args"], json({"/bin/other"}));
  // No image at all: PATH gets the default and a command is required.
  SpecOptions bare;
  bare.id = "c";
  EXPECT_EQ(GenerateSpec(json(), bare, NoRootfsFiles()).status().code(), Code::kInvalidArgument);
  bare.args = {"true"};
  auto spec = GenerateSpec(json(), bare, NoRootfsFiles());
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ((*spec)["process"]["env"][0], std::string("PATH=") + kDefaultPath);
  EXPECT_EQ((*spec)["process"]["cwd"], "/");
}

// The image config's own User field is resolved in the image's /etc/passwd and /etc/group, like
// --user, and --user replaces it.
TEST(GenerateSpec, ImageUserIsLookedUp) {
  TempDir dir = std::move(TempDir::Create("b-spec-user").value());
  ASSERT_TRUE(MakeDirs(dir.Join("etc")).ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Join("etc/passwd"),
                              "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n")
                  .ok());
  ASSERT_TRUE(
      WriteFileAtomic(dir.Join("etc/group"), "root:x:0:\napp:x:1001:\nextra:x:1002:app\n").ok());
  LayeredRootfsFiles files({dir.path()});
  json config = BusyboxConfig();
  config["config"]["User"] = "app";
  SpecOptions o;
  o.id = "c";
  auto spec = GenerateSpec(config, o, files);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_TRUE(ValidateSpec(*spec).ok()) << ValidateSpec(*spec).ToString();
  EXPECT_EQ((*spec)["process"]["user"]["uid"], 1000);
  EXPECT_EQ((*spec)["process"]["user"]["gid"], 1001);
  // The primary group first, then the groups listing the user (as containerd's
  // WithAdditionalGIDs).
  EXPECT_EQ((*spec)["process"]["user"]["additionalGids"], json({1001, 1002}));
  config["config"]["User"] = "app:root";
  EXPECT_EQ((*GenerateSpec(config, o, files))["process"]["user"]["gid"], 0);
  o.user = "root";
  EXPECT_EQ((*GenerateSpec(config, o, files))["process"]["user"]["uid"], 0);
  // An image naming a user its passwd does not have cannot be run (no silent root).
  o.user.reset();
  config["config"]["User"] = "nobody-here";
  auto missing = GenerateSpec(config, o, files);
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nobody-here"), std::string::npos)
      << missing.status().ToString();
}

TEST(GenerateSpec, HostNetworkAndPrivileged) {
  SpecOptions o;
  o.id = "c";
  o.net = NetworkMode::kHost;
  o.privileged = true;
  auto spec = GenerateSpec(BusyboxConfig(), o, NoRootfsFiles());
  ASSERT_TRUE(spec.ok());
  ASSERT_TRUE(ValidateSpec(*spec).ok()) << ValidateSpec(*spec).ToString();
  const json& s = *spec;
  for (const auto& n : s["linux"]["namespaces"]) EXPECT_NE(n["type"], "network");
  EXPECT_TRUE(Contains(s["process"]["capabilities"]["bounding"], "CAP_SYS_ADMIN"));
  EXPECT_EQ(s["process"]["noNewPrivileges"], false);
  EXPECT_FALSE(s["linux"].contains("maskedPaths"));
  EXPECT_EQ(s["linux"]["resources"]["devices"][0]["allow"], true);
  EXPECT_FALSE(s["linux"]["devices"].empty());  // /dev/null at least
  bool hosts = false;
  for (const auto& m : s["mounts"]) hosts = hosts || m["destination"] == "/etc/resolv.conf";
  EXPECT_TRUE(hosts);
}

TEST(GenerateSpec, RejectsBadInput) {
  SpecOptions o;
  o.id = "c";
  o.cwd = "relative";
  EXPECT_EQ(GenerateSpec(BusyboxConfig(), o, NoRootfsFiles()).status().code(),
            Code::kInvalidArgument);
  o.cwd.reset();
  o.user = "2147483648";
  auto big = GenerateSpec(BusyboxConfig(), o, NoRootfsFiles());
  EXPECT_EQ(big.status().code(), Code::kInvalidArgument);
  EXPECT_NE(big.status().message().find("2147483647"), std::string::npos);
  o.user = "0:4294967295";
  EXPECT_EQ(GenerateSpec(BusyboxConfig(), o, NoRootfsFiles()).status().code(),
            Code::kInvalidArgument);
  o.user.reset();
  o.cpus = -1;
  EXPECT_EQ(GenerateSpec(BusyboxConfig(), o, NoRootfsFiles()).status().code(),
            Code::kInvalidArgument);
  o.cpus.reset();
  o.mounts.push_back({"bind", "relative/src", "/dst", {}});
  EXPECT_EQ(GenerateSpec(BusyboxConfig(), o, NoRootfsFiles()).status().code(),
            Code::kInvalidArgument);
  o.id.clear();
  EXPECT_FALSE(GenerateSpec(BusyboxConfig(), o, NoRootfsFiles()).ok());
}

TEST(Flags, MountEnvFileMemory) {
  auto m = ParseMountFlag("type=tmpfs,src=tmpfs,dst=/t,options=size=1m:mode=755");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->type, "tmpfs");
  EXPECT_EQ(m->options, (std::vector<std::string>{"size=1m", "mode=755"}));
  EXPECT_FALSE(ParseMountFlag("src=/a").ok());
  EXPECT_FALSE(ParseMountFlag("dst=/a,bogus=1").ok());
  EXPECT_FALSE(ParseMountFlag("dst").ok());

  TempDir dir = std::move(TempDir::Create("b-spec").value());
  ASSERT_TRUE(WriteFileAtomic(dir.Join("env"), "# comment\n\nA=1\n  B=two words\r\nC=\n").ok());
  auto env = ReadEnvFile(dir.Join("env"));
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(*env, (std::vector<std::string>{"A=1", "B=two words", "C="}));
  ASSERT_TRUE(WriteFileAtomic(dir.Join("bad"), "A=1\nNOVALUE\n").ok());
  auto bad = ReadEnvFile(dir.Join("bad"));
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  EXPECT_EQ(ReadEnvFile(dir.Join("missing")).status().code(), Code::kNotFound);

  EXPECT_EQ(*ParseMemorySize("1048576"), 1048576);
  EXPECT_EQ(*ParseMemorySize("64m"), 64 << 20);
  EXPECT_EQ(*ParseMemorySize("2g"), 2LL << 30);
  EXPECT_FALSE(ParseMemorySize("-1").ok());
  EXPECT_FALSE(ParseMemorySize("12x").ok());
  EXPECT_FALSE(ParseMemorySize("").ok());
  EXPECT_FALSE(ParseMemorySize("99999999999t").ok());
}

}  // namespace
}  // namespace berth::spec
