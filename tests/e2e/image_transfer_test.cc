// End to end: push, pull back, TLS + htpasswd registries, export and import into a fresh root.
#include <gtest/gtest.h>

#include "client/testing/test_registry.h"
#include "common/fs.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "tests/e2e/image_e2e_util.h"

namespace berth::e2e {
namespace {

using client::testing::TestRegistry;

class ImageTransferTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto r = TestRegistry::Start();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    registry_ = std::move(r).value();
    Status pushed = client::testing::PushFixtureImages(registry_->host());
    ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  }
  static void TearDownTestSuite() { registry_.reset(); }

  void SetUp() override {
    auto s = BerthSystem::Start();
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    system_ = std::move(s).value();
    dir_ = std::make_unique<TempDir>(TempDir::Create("b-e2e").value());
  }
  void TearDown() override {
    system_.reset();
    dir_.reset();
  }

  std::string Ref(const std::string& repo) { return registry_->host() + "/" + repo; }

  Result<nlohmann::json> Pull(BerthSystem& system, const std::string& ref,
                              std::vector<std::string> extra = {"--plain-http"}) {
    std::vector<std::string> args{"image", "pull"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(ref);
    return system.CtlJson(args);
  }

  static std::unique_ptr<TestRegistry> registry_;
  std::unique_ptr<BerthSystem> system_;
  std::unique_ptr<TempDir> dir_;
};
std::unique_ptr<TestRegistry> ImageTransferTest::registry_;

TEST_F(ImageTransferTest, PushDeleteLocallyPullBack) {
  auto original = Pull(*system_, Ref("berth/layered:latest"));
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  std::string copy = Ref("berth/copy:v1");
  auto pushed =
      system_->CtlJson({"image", "push", "--plain-http", copy, Ref("berth/layered:latest")});
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ((*pushed)["digest"], (*original)["digest"]);
  EXPECT_GE((*pushed)["mounted"].get<int>(), 1);  // layers mounted from berth/layered
  // Deleted with a synchronous garbage collection: content and snapshots go too.
  auto removed = system_->Ctl({"image", "rm", "--sync", Ref("berth/layered:latest")});
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  auto gone = system_->CtlJson({"image", "check"});
  ASSERT_TRUE(gone.ok());
  EXPECT_TRUE(gone->empty()) << gone->dump();
  auto back = Pull(*system_, copy);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)["digest"], (*original)["digest"]);
  EXPECT_EQ((*back)["manifest"], (*original)["manifest"]);
  EXPECT_EQ((*back)["snapshot"], (*original)["snapshot"]);
  EXPECT_EQ((*back)["layers_fetched"], 3) << "the local delete did not remove the content";
  auto check = system_->CtlJson({"image", "check", copy});
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE((*check)[0]["complete"].get<bool>());
  // Chunked uploads give the same digests.
  auto chunked = system_->CtlJson(
      {"image", "push", "--plain-http", "--chunk-size", "65536", Ref("berth/chunked:v1"), copy});
  ASSERT_TRUE(chunked.ok()) << chunked.status().ToString();
  EXPECT_EQ((*chunked)["digest"], (*original)["digest"]);
}

TEST_F(ImageTransferTest, TlsRegistryWithBasicAuth) {
  auto secure = TestRegistry::Start({.tls = true, .user = "berth", .password = "s3cret"});
  ASSERT_TRUE(secure.ok()) << secure.status().ToString();
  std::string hosts = dir_->Join("certs.d");
  ASSERT_TRUE(MakeDirs(hosts + "/" + (*secure)->host()).ok());
  ASSERT_TRUE(WriteFileAtomic(hosts + "/" + (*secure)->host() + "/hosts.toml",
                              fmt::format("server = \"https://{}\"\nca = \"{}\"\n",
                                          (*secure)->host(), (*secure)->tls().ca_cert))
                  .ok());
  auto original = Pull(*system_, Ref("berth/busybox:latest"));
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  std::string dest = (*secure)->host() + "/secure/busybox:1";
  // Wrong password: a clear error.
  auto wrong = system_->Ctl({"image", "push", "--hosts-dir", hosts, "--user", "berth:nope", dest,
                             Ref("berth/busybox:latest")});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("wrong username or password"), std::string::npos)
      << wrong.status().message();
  // Without the CA: the certificate is not trusted.
  auto untrusted =
      system_->Ctl({"image", "push", "--user", "berth:s3cret", dest, Ref("berth/busybox:latest")});
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.status().message().find("TLS certificate not trusted"), std::string::npos)
      << untrusted.status().message();
  auto pushed = system_->CtlJson({"image", "push", "--hosts-dir", hosts, "--user", "berth:s3cret",
                                  dest, Ref("berth/busybox:latest")});
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  // Pull it into a fresh Berth with credentials from a docker config.json.
  auto fresh = BerthSystem::Start();
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  std::string config = (*secure)->WriteDockerConfig(dir_->path()).value();
  auto anonymous = Pull(**fresh, dest, {"--hosts-dir", hosts});
  ASSERT_FALSE(anonymous.ok());
  EXPECT_NE(anonymous.status().message().find("requires credentials"), std::string::npos)
      << anonymous.status().message();
  auto back = Pull(**fresh, dest, {"--hosts-dir", hosts, "--docker-config", config});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)["digest"], (*original)["digest"]);
  EXPECT_EQ((*back)["snapshot"], (*original)["snapshot"]);
}

// A registry whose CA is in the system store (no `ca =` in a hosts.toml, no --hosts-dir): each
// berthctl runs in a private mount namespace where a CA bundle holding the host's CAs and the
// test's CA is bind-mounted over /etc/ssl/certs/ca-certificates.crt (libcurl's default bundle).
TEST_F(ImageTransferTest, RegistryTrustedThroughTheSystemCaStore) {
  constexpr char kSystemBundle[] = "/etc/ssl/certs/ca-certificates.crt";
  auto system_cas = ReadFile(kSystemBundle);
  ASSERT_TRUE(system_cas.ok()) << system_cas.status().ToString();
  auto secure = TestRegistry::Start({.tls = true});
  ASSERT_TRUE(secure.ok()) << secure.status().ToString();
  auto test_ca = ReadFile((*secure)->tls().ca_cert);
  ASSERT_TRUE(test_ca.ok()) << test_ca.status().ToString();
  std::string bundle = dir_->Join("ca-certificates.crt");
  ASSERT_TRUE(WriteFileAtomic(bundle, *system_cas + "\n" + *test_ca).ok());
  // berthctl `args` with the test's CA in the system store (in its mount namespace only).
  auto trusting = [&](BerthSystem& system, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount --bind \"$0\" " + std::string(kSystemBundle) + " && exec \"$@\"",
        bundle};
    auto ctl = system.CtlArgs(args);
    argv.insert(argv.end(), ctl.begin(), ctl.end());
    return RunCapture(argv, {}, std::chrono::seconds(120));
  };

  auto original = Pull(*system_, Ref("berth/busybox:latest"));
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  std::string dest = (*secure)->host() + "/system-ca/busybox:1";
  auto untrusted_push = system_->Ctl({"image", "push", dest, Ref("berth/busybox:latest")});
  ASSERT_FALSE(untrusted_push.ok());
  EXPECT_NE(untrusted_push.status().message().find("TLS certificate not trusted"),
            std::string::npos)
      << untrusted_push.status().message();
  auto pushed =
      trusting(*system_, {"--format", "json", "image", "push", dest, Ref("berth/busybox:latest")});
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(nlohmann::json::parse(*pushed, nullptr, false)["digest"], (*original)["digest"])
      << *pushed;

  // The pull in a fresh root: refused without the CA in the store, done with it.
  auto fresh = BerthSystem::Start();
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  auto untrusted = Pull(**fresh, dest, {});
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.status().message().find("TLS certificate not trusted"), std::string::npos)
      << untrusted.status().message();
  auto nothing = (*fresh)->CtlJson({"image", "ls"});
  ASSERT_TRUE(nothing.ok()) << nothing.status().ToString();
  EXPECT_TRUE(nothing->empty()) << nothing->dump();
  auto pulled = trusting(**fresh, {"--format", "json", "image", "pull", dest});
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  auto back = nlohmann::json::parse(*pulled, nullptr, false);
  EXPECT_EQ(back["digest"], (*original)["digest"]) << *pulled;
  EXPECT_EQ(back["snapshot"], (*original)["snapshot"]) << *pulled;
  // The bind mount lived only in berthctl's namespace.
  auto mounts = ReadFile("/proc/self/mountinfo");
  ASSERT_TRUE(mounts.ok());
  EXPECT_EQ(mounts->find(bundle), std::string::npos);
  EXPECT_EQ(mounts->find(std::string(" ") + kSystemBundle + " "), std::string::npos);
}

TEST_F(ImageTransferTest, ExportImportIntoFreshRoot) {
  auto layered = Pull(*system_, Ref("berth/layered:latest"));
  ASSERT_TRUE(layered.ok()) << layered.status().ToString();
  auto v2s2 = Pull(*system_, Ref("berth/busybox:v2s2"));
  ASSERT_TRUE(v2s2.ok()) << v2s2.status().ToString();
  std::string file = dir_->Join("images.tar");
  auto exported = system_->Ctl(
      {"image", "export", file, Ref("berth/layered:latest"), Ref("berth/busybox:v2s2")});
  ASSERT_TRUE(exported.ok()) << exported.status().ToString();

  auto fresh = BerthSystem::Start();
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  auto imported = (*fresh)->CtlJson({"image", "import", file});
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  ASSERT_EQ(imported->size(), 2u) << imported->dump();
  std::map<std::string, std::string> digests;
  for (auto& i : *imported) digests[i["name"]] = i["digest"];
  EXPECT_EQ(digests[Ref("berth/layered:latest")], (*layered)["digest"]);
  EXPECT_EQ(digests[Ref("berth/busybox:v2s2")], (*v2s2)["digest"]);
  // The import's lease is gone: a collection now must keep everything the records reach
  // (import labels the documents for GC as a pull does).
  auto collected = (*fresh)->CtlJson({"gc"});
  ASSERT_TRUE(collected.ok()) << collected.status().ToString();
  EXPECT_TRUE((*collected)["removed_content"].empty()) << collected->dump();
  EXPECT_TRUE((*collected)["removed_snapshots"].empty()) << collected->dump();
  auto check = (*fresh)->CtlJson({"image", "check"});
  ASSERT_TRUE(check.ok());
  ASSERT_EQ(check->size(), 2u);
  for (auto& c : *check) {
    EXPECT_TRUE(c["complete"].get<bool>()) << c.dump();
    EXPECT_TRUE(c["unpacked"].get<bool>()) << c.dump();
  }
  // skopeo reads the exported file (one image per ref name).
  auto one = dir_->Join("one.tar");
  ASSERT_TRUE(system_->Ctl({"image", "export", one, Ref("berth/layered:latest")}).ok());
  auto inspect = RunCapture({"skopeo", "inspect", "oci-archive:" + one});
  ASSERT_TRUE(inspect.ok()) << inspect.status().ToString();
  EXPECT_EQ(nlohmann::json::parse(*inspect)["Digest"], (*layered)["digest"]);
  // A docker save archive (made by skopeo) imports too.
  std::string docker = dir_->Join("docker.tar");
  ASSERT_TRUE(RunCapture({"skopeo", "copy", "--quiet", "--insecure-policy", "oci-archive:" + one,
                          "docker-archive:" + docker + ":example.com/saved:1"},
                         {}, std::chrono::minutes(2))
                  .ok());
  auto saved = (*fresh)->CtlJson({"image", "import", docker});
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  EXPECT_EQ((*saved)[0]["name"], "example.com/saved:1");
  auto saved_check = (*fresh)->CtlJson({"image", "check", "example.com/saved:1"});
  ASSERT_TRUE(saved_check.ok());
  EXPECT_TRUE((*saved_check)[0]["unpacked"].get<bool>());
}

}  // namespace
}  // namespace berth::e2e
