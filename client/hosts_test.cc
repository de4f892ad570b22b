#include "client/hosts.h"

#include <gtest/gtest.h>

#include "common/fs.h"
#include "common/temp_dir.h"

namespace berth::client {
namespace {

TEST(HostsTest, DefaultsWithoutConfig) {
  auto hosts = ConfigureHosts("docker.io", {});
  ASSERT_TRUE(hosts.ok());
  ASSERT_EQ(hosts->size(), 1u);
  EXPECT_EQ((*hosts)[0].ApiUrl(), "https://registry-1.docker.io/v2");
  auto plain = ConfigureHosts("127.0.0.1:5000", {.plain_http = true});
  EXPECT_EQ((*plain)[0].ApiUrl(), "http://127.0.0.1:5000/v2");
  EXPECT_EQ((*plain)[0].capabilities, kCapPull | kCapResolve | kCapPush);
}

TEST(HostsTest, ReadsHostsTomlInOrder) {
  auto dir = TempDir::Create("b-hosts").value();
  ASSERT_TRUE(MakeDirs(dir.Join("reg.example:5000")).ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Join("reg.example:5000/hosts.toml"), R"(
server = "https://reg.example:5000"
ca = "ca.pem"
client = [["client.cert", "client.key"]]
[header]
  x-test = "yes"

[host."https://zz-mirror.example/v2/proxy"]
  capabilities = ["pull"]
  skip_verify = true

[host."http://aa-mirror.example:8080"]
  capabilities = ["pull", "resolve"]
  ca = ["/abs/ca1.pem", "ca2.pem"]
  override_path = true
)")
                  .ok());
  auto hosts = ConfigureHosts("reg.example:5000", {.hosts_dir = dir.path()});
  ASSERT_TRUE(hosts.ok()) << hosts.status().ToString();
  ASSERT_EQ(hosts->size(), 3u);
  const RegistryHost& first = (*hosts)[0];  // file order, not alphabetical
  EXPECT_EQ(first.ApiUrl(), "https://zz-mirror.example/v2/proxy/v2");
  EXPECT_EQ(first.capabilities, kCapPull);
  EXPECT_TRUE(first.tls.skip_verify);
  EXPECT_TRUE(first.mirror);
  const RegistryHost& second = (*hosts)[1];
  EXPECT_EQ(second.ApiUrl(), "http://aa-mirror.example:8080");
  ASSERT_EQ(second.tls.ca_files.size(), 2u);
  EXPECT_EQ(second.tls.ca_files[1], dir.path() + "/reg.example:5000/ca2.pem");
  const RegistryHost& server = (*hosts)[2];
  EXPECT_FALSE(server.mirror);
  EXPECT_EQ(server.ApiUrl(), "https://reg.example:5000/v2");
  EXPECT_EQ(server.tls.client_cert, dir.path() + "/reg.example:5000/client.cert");
  EXPECT_EQ(server.tls.client_key, dir.path() + "/reg.example:5000/client.key");
  ASSERT_EQ(server.headers.size(), 1u);
  EXPECT_EQ(server.headers[0].first, "x-test");
}

TEST(HostsTest, DockerStyleCertFilesAndErrors) {
  auto dir = TempDir::Create("b-hosts").value();
  ASSERT_TRUE(MakeDirs(dir.Join("r.example")).ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Join("r.example/ca.crt"), "x").ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Join("r.example/me.cert"), "x").ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Join("r.example/me.key"), "x").ok());
  auto hosts = ConfigureHosts("r.example", {.hosts_dir = dir.path()});
  ASSERT_TRUE(hosts.ok());
  EXPECT_EQ((*hosts)[0].tls.ca_files.at(0), dir.path() + "/r.example/ca.crt");
  EXPECT_EQ((*hosts)[0].tls.client_key, dir.path() + "/r.example/me.key");

  ASSERT_TRUE(MakeDirs(dir.Join("bad.example")).ok());
  ASSERT_TRUE(WriteFileAtomic(dir.Join("bad.example/hosts.toml"), "capabilities = [\"fly\"]").ok());
  auto bad = ConfigureHosts("bad.example", {.hosts_dir = dir.path()});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown capability"), std::string::npos);
  ASSERT_TRUE(WriteFileAtomic(dir.Join("bad.example/hosts.toml"), "server = [").ok());
  EXPECT_EQ(ConfigureHosts("bad.example", {.hosts_dir = dir.path()}).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace berth::client
