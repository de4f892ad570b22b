// End to end: `berthctl image pull` into a whole Berth (berthd + content, snapshot, metadata)
// from Debian's docker-registry, checked against umoci's unpack of the same images.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <thread>
#include <tuple>

#include "client/media_types.h"
#include "client/platform.h"
#include "client/registry.h"
#include "client/testing/test_registry.h"
#include "common/fs.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "ipc/client.h"
#include "services/content/proxy.h"
#include "tests/e2e/image_e2e_util.h"

namespace berth::e2e {
namespace {

using client::testing::TestRegistry;
using namespace std::chrono_literals;

class ImagePullTest : public ::testing::Test {
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

  // Mounts REF, compares it with umoci's rootfs, unmounts.
  void ExpectSameAsUmoci(const std::string& ref) {
    std::string mnt = dir_->Join("mnt");
    ASSERT_TRUE(MakeDirs(mnt).ok());
    auto mounted = system_->Ctl({"image", "mount", ref, mnt});
    ASSERT_TRUE(mounted.ok()) << mounted.status().ToString();
    auto ours = ScanTree(mnt);
    ExpectReadOnly(mnt);
    // The mount is a view snapshot "berth-mount <dir>" held by its own lease.
    EXPECT_EQ(MountViews(), 1u);
    EXPECT_EQ(MountLeases(), 1u);
    auto unmounted = system_->Ctl({"image", "unmount", mnt});
    ASSERT_TRUE(unmounted.ok()) << unmounted.status().ToString();
    EXPECT_EQ(MountViews(), 0u) << "unmount left its view snapshot";
    EXPECT_EQ(MountLeases(), 0u) << "unmount left its lease";
    ASSERT_TRUE(ours.ok()) << ours.status().ToString();
    auto theirs_dir = UmociRootfs(ref, dir_->Join("umoci-" + std::to_string(rand())));
    ASSERT_TRUE(theirs_dir.ok()) << theirs_dir.status().ToString();
    auto theirs = ScanTree(*theirs_dir);
    ASSERT_TRUE(theirs.ok());
    EXPECT_GT(ours->size(), 40u);
    EXPECT_EQ(DiffTrees(*ours, *theirs), "") << ref;
    struct stat st {};
    EXPECT_NE(::stat((mnt + "/bin/busybox").c_str(), &st), 0) << "still mounted";
  }

  // Writing into a mounted image (a new file, or over an existing one) fails with EROFS.
  static void ExpectReadOnly(const std::string& mnt) {
    for (const std::string& path : {mnt + "/berth-write-probe", mnt + "/bin/busybox"}) {
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      int err = errno;
      if (fd >= 0) ::close(fd);
      EXPECT_LT(fd, 0) << path << " is writable";
      EXPECT_EQ(err, EROFS) << path << ": " << std::strerror(err);
    }
  }
  // How many `berthctl image mount` view snapshots and leases exist.
  size_t MountViews() {
    auto snapshots = system_->CtlJson({"snapshot", "ls"});
    EXPECT_TRUE(snapshots.ok()) << snapshots.status().ToString();
    size_t n = 0;
    for (const auto& s : snapshots.ok() ? *snapshots : nlohmann::json::array()) {
      if (!s["name"].get<std::string>().starts_with("berth-mount /")) continue;
      EXPECT_EQ(s["kind"], "view") << s.dump();
      ++n;
    }
    return n;
  }
  size_t MountLeases() {
    auto leases = system_->Ctl({"lease", "ls", "-q"});
    EXPECT_TRUE(leases.ok()) << leases.status().ToString();
    size_t n = 0;
    for (size_t at = 0; leases.ok() && (at = leases->find("berth-mount-", at)) != std::string::npos;
         ++at) {
      ++n;
    }
    return n;
  }

  // `berthctl --format json image check ARGS...`: its exit code and the rows it printed.
  std::pair<int, nlohmann::json> CheckRows(std::vector<std::string> args) {
    args.insert(args.begin(), {"--format", "json", "image", "check"});
    SpawnOptions options;
    options.argv = {"sh", "-c", "\"$@\"; echo \"rc=$?\"", "sh"};
    for (std::string& arg : system_->CtlArgs(args)) options.argv.push_back(std::move(arg));
    auto out = RunCapture(options, {}, 60s);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return {-1, nullptr};
    size_t rc = out->rfind("rc=");
    auto rows = nlohmann::json::parse(out->substr(0, rc), nullptr, false);
    EXPECT_TRUE(rows.is_array()) << *out;
    return {std::atoi(out->c_str() + rc + 3), rows};
  }

  static std::unique_ptr<TestRegistry> registry_;
  std::unique_ptr<BerthSystem> system_;
  std::unique_ptr<TempDir> dir_;
};
std::unique_ptr<TestRegistry> ImagePullTest::registry_;

TEST_F(ImagePullTest, PullCheckAndCompareWithUmoci) {
  for (std::string repo : {"berth/layered:latest", "berth/busybox:v2s2"}) {
    std::string ref = Ref(repo);
    auto pulled = system_->Ctl({"image", "pull", "--plain-http", ref});
    ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
    EXPECT_NE(pulled->find("done in"), std::string::npos) << *pulled;
    // Off a terminal: plain lines per blob and state, no escape sequences.
    EXPECT_NE(pulled->find("layer sha256:"), std::string::npos) << *pulled;
    EXPECT_NE(pulled->find(": done"), std::string::npos) << *pulled;
    EXPECT_EQ(pulled->find("\x1b["), std::string::npos) << *pulled;
    auto check = system_->CtlJson({"image", "check", ref});
    ASSERT_TRUE(check.ok()) << check.status().ToString();
    ASSERT_EQ(check->size(), 1u);
    EXPECT_TRUE((*check)[0]["complete"].get<bool>()) << check->dump();
    EXPECT_TRUE((*check)[0]["unpacked"].get<bool>()) << check->dump();
    ExpectSameAsUmoci(ref);
  }
  auto names = system_->Ctl({"image", "ls", "-q"});
  ASSERT_TRUE(names.ok());
  EXPECT_NE(names->find(Ref("berth/layered:latest")), std::string::npos) << *names;
}

TEST_F(ImagePullTest, PullingAgainDoesNoWork) {
  std::string ref = Ref("berth/busybox:latest");
  auto first = system_->CtlJson({"image", "pull", "--plain-http", ref});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE((*first)["already_present"].get<bool>());
  EXPECT_EQ((*first)["layers_unpacked"], 1);
  auto second = system_->CtlJson({"image", "pull", "--plain-http", ref});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_TRUE((*second)["already_present"].get<bool>());
  EXPECT_EQ((*second)["layers_fetched"], 0);
  EXPECT_EQ((*second)["layers_unpacked"], 0);
  EXPECT_EQ((*second)["digest"], (*first)["digest"]);
  // --quiet: nothing on stdout.
  auto quiet =
      system_->Ctl({"image", "pull", "--plain-http", "--quiet", Ref("berth/busybox:v2s2")});
  ASSERT_TRUE(quiet.ok()) << quiet.status().ToString();
  EXPECT_EQ(*quiet, "");
}

TEST_F(ImagePullTest, MultiPlatformIndexSelection) {
  // The fixture's index: busybox for this host and a manifest for the other of amd64/arm64
  // sharing its layer.
  auto ref = client::ParseReference(Ref("berth/multi:latest")).value();
  client::RegistryOptions ro;
  ro.hosts.plain_http = true;
  auto registry = client::Registry::Create(ref, ro).value();
  auto resolved = registry->Resolve(ref);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  auto index = client::ParseIndex(resolved->descriptor.media_type, resolved->bytes);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  std::string other_arch = client::HostPlatform().architecture == "amd64" ? "arm64" : "amd64";
  client::Platform other_platform{.os = "linux", .architecture = other_arch};
  auto host_desc = client::SelectManifest(*index, client::PlatformMatcher(client::HostPlatform()));
  auto other_desc = client::SelectManifest(*index, client::PlatformMatcher(other_platform));
  ASSERT_TRUE(host_desc.ok() && other_desc.ok());
  ASSERT_NE(host_desc->digest, other_desc->digest);

  // --platform: that platform's manifest (content only here).
  auto other_pull = system_->CtlJson({"image", "pull", "--plain-http", "--no-unpack", "--platform",
                                      "linux/" + other_arch, ref.String()});
  ASSERT_TRUE(other_pull.ok()) << other_pull.status().ToString();
  EXPECT_EQ((*other_pull)["manifest"], other_desc->digest.ToString());
  EXPECT_EQ((*other_pull)["digest"], resolved->descriptor.digest.ToString());
  EXPECT_EQ((*other_pull)["layers_unpacked"], 0);
  // The host's manifest is not in the store: check says so, by digest.
  auto [host_code, host_rows] = CheckRows({ref.String()});
  EXPECT_EQ(host_code, 2);
  ASSERT_EQ(host_rows.size(), 1u);
  EXPECT_FALSE(host_rows[0]["complete"].get<bool>());
  EXPECT_EQ(host_rows[0]["missing"], nlohmann::json::array({host_desc->digest.ToString()}));
  // Default: the host's manifest, unpacked; the shared layer is not fetched again.
  auto host_pull = system_->CtlJson({"image", "pull", "--plain-http", ref.String()});
  ASSERT_TRUE(host_pull.ok()) << host_pull.status().ToString();
  EXPECT_EQ((*host_pull)["manifest"], host_desc->digest.ToString());
  EXPECT_EQ((*host_pull)["layers_fetched"], 0);
  EXPECT_EQ((*host_pull)["layers_unpacked"], 1);
  // --all-platforms into an empty store: every platform's content, the host's unpacked.
  ASSERT_TRUE(system_->Ctl({"image", "rm", "--sync", ref.String()}).ok());
  auto all = system_->CtlJson({"image", "pull", "--plain-http", "--all-platforms", ref.String()});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ((*all)["manifest"], host_desc->digest.ToString());
  EXPECT_EQ((*all)["layers_fetched"], 1);
  for (std::string p : {client::FormatPlatform(client::HostPlatform()), "linux/" + other_arch}) {
    auto check = system_->CtlJson({"image", "check", "--platform", p, ref.String()});
    ASSERT_TRUE(check.ok()) << check.status().ToString();
    EXPECT_TRUE((*check)[0]["complete"].get<bool>()) << p << check->dump();
  }
  auto none =
      system_->Ctl({"image", "pull", "--plain-http", "--platform", "linux/s390x", ref.String()});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no manifest for platform linux/s390x"), std::string::npos)
      << none.status().message();
}

// unpack, tag, inspect, ls (with sizes) and rm on a pulled image.
TEST_F(ImagePullTest, LocalImageCommands) {
  std::string ref = Ref("berth/layered:latest");
  auto pulled = system_->CtlJson({"image", "pull", "--plain-http", "--no-unpack", ref});
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  auto check = system_->CtlJson({"image", "check", ref});
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_TRUE((*check)[0]["complete"].get<bool>());
  EXPECT_FALSE((*check)[0]["unpacked"].get<bool>());
  auto unpacked = system_->Ctl({"image", "unpack", ref});
  ASSERT_TRUE(unpacked.ok()) << unpacked.status().ToString();
  EXPECT_NE(unpacked->find((*pulled)["snapshot"].get<std::string>()), std::string::npos);
  check = system_->CtlJson({"image", "check", ref});
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE((*check)[0]["unpacked"].get<bool>());

  std::string copy = Ref("berth/renamed:v2");
  ASSERT_TRUE(system_->Ctl({"image", "tag", ref, copy}).ok());
  auto inspect = system_->CtlJson({"image", "inspect", copy});
  ASSERT_TRUE(inspect.ok()) << inspect.status().ToString();
  EXPECT_EQ((*inspect)["target"]["digest"], (*pulled)["digest"]);
  EXPECT_EQ((*inspect)["chain_ids"].size(), 3u);
  EXPECT_EQ((*inspect)["chain_ids"][2], (*pulled)["snapshot"]);
  EXPECT_TRUE((*inspect)["unpacked"].get<bool>());
  EXPECT_EQ((*inspect)["config"]["rootfs"]["diff_ids"].size(), 3u);
  // ls: the size is the image's content (manifest, config and layers), as check counts it.
  int64_t content_size = (*inspect)["manifest_descriptor"]["size"].get<int64_t>() +
                         (*inspect)["manifest"]["config"]["size"].get<int64_t>();
  for (auto& layer : (*inspect)["manifest"]["layers"]) content_size += layer["size"].get<int64_t>();
  auto listed = system_->CtlJson({"image", "ls"});
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 2u) << listed->dump();
  for (auto& image : *listed) {
    EXPECT_EQ(image["size"].get<int64_t>(), content_size) << image.dump();
    EXPECT_EQ(image["size"], (*check)[0]["size"]);
  }
  auto table = system_->Ctl({"image", "ls"});
  ASSERT_TRUE(table.ok());
  EXPECT_NE(table->find(" MiB"), std::string::npos) << *table;  // human-readable sizes

  ASSERT_TRUE(system_->Ctl({"image", "rm", copy}).ok());
  auto names = system_->Ctl({"image", "ls", "-q"});
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, ref + "\n");
  auto gone = system_->Ctl({"image", "inspect", copy});
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().message().find("not found"), std::string::npos)
      << gone.status().message();
}

// check of an image whose config, then a layer, was deleted: incomplete, the missing digest
// named, exit code 2. An image that cannot be checked is a row of its own, not the end of the
// listing.
TEST_F(ImagePullTest, CheckReportsMissingContentPerImage) {
  std::string busybox = Ref("berth/busybox:latest"), layered = Ref("berth/layered:latest");
  std::string multi = Ref("berth/multi:latest");
  for (const std::string& ref : {busybox, layered, multi}) {
    auto pulled = system_->Ctl({"image", "pull", "--plain-http", "--quiet", ref});
    ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  }
  auto [all_code, all_rows] = CheckRows({});
  EXPECT_EQ(all_code, 0) << all_rows.dump();
  auto busybox_image = system_->CtlJson({"image", "inspect", busybox});
  auto layered_image = system_->CtlJson({"image", "inspect", layered});
  ASSERT_TRUE(busybox_image.ok() && layered_image.ok());
  std::string config = (*busybox_image)["manifest"]["config"]["digest"];
  std::string layer = (*layered_image)["manifest"]["layers"][2]["digest"];
  ASSERT_TRUE(system_->Ctl({"content", "rm", config}).ok());
  ASSERT_TRUE(system_->Ctl({"content", "rm", layer}).ok());

  auto [code, rows] = CheckRows({busybox});
  EXPECT_EQ(code, 2);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0]["complete"].get<bool>());
  EXPECT_EQ(rows[0]["missing"], nlohmann::json::array({config})) << rows.dump();
  EXPECT_FALSE(rows[0]["unpacked"].get<bool>());  // unknown without the config
  std::tie(code, rows) = CheckRows({layered});
  EXPECT_EQ(code, 2);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0]["complete"].get<bool>());
  EXPECT_EQ(rows[0]["missing"], nlohmann::json::array({layer})) << rows.dump();
  EXPECT_TRUE(rows[0]["unpacked"].get<bool>());  // its snapshots are still there

  // No platform s390x in multi's index: that row is an error, the others are still checked.
  std::tie(code, rows) = CheckRows({"--platform", "linux/s390x"});
  EXPECT_EQ(code, 1);
  ASSERT_EQ(rows.size(), 3u) << rows.dump();
  std::map<std::string, nlohmann::json> by_name;
  for (auto& row : rows) by_name[row["name"]] = row;
  EXPECT_NE(by_name[multi]["error"].get<std::string>().find("no manifest for platform linux/s390x"),
            std::string::npos)
      << rows.dump();
  EXPECT_EQ(by_name[busybox]["missing"], nlohmann::json::array({config}));
  EXPECT_EQ(by_name[layered]["missing"], nlohmann::json::array({layer}));
}

TEST_F(ImagePullTest, CorruptLayerIsRefusedAndNothingCommitted) {
  std::string blob(300000, 'b');
  for (size_t i = 0; i < blob.size(); i += 97) blob[i] = static_cast<char>(i);
  auto bad = client::testing::MisbehavingRegistry::Start(blob);
  ASSERT_TRUE(bad.ok()) << bad.status().ToString();
  std::string ref = fmt::format("127.0.0.1:{}/t/badimage:x", (*bad)->port());
  auto pulled = system_->Ctl({"image", "pull", "--plain-http", "--user", "u:p", ref});
  ASSERT_FALSE(pulled.ok());
  EXPECT_NE(pulled.status().message().find("do not match"), std::string::npos)
      << pulled.status().message();
  ipc::Client client(system_->harness().ServiceSocket("content"));
  content::Proxy store(client, {.ns = "default"});
  Digest digest = DigestBytes(blob).value();
  EXPECT_EQ(store.GetInfo(digest).status().code(), Code::kNotFound);
  auto ingests = store.ListStatuses();
  ASSERT_TRUE(ingests.ok());
  for (const auto& i : *ingests) EXPECT_NE(i.ref, "pull-" + digest.hex);
  auto check = system_->Ctl({"image", "check", ref});
  EXPECT_FALSE(check.ok());  // no image record
}

TEST_F(ImagePullTest, KilledPullResumes) {
  constexpr uint64_t kLayer = 48 << 20;
  auto sums = PushRandomImage(registry_->host(), "berth/big", "v1", 2, kLayer, dir_->path());
  ASSERT_TRUE(sums.ok()) << sums.status().ToString();
  // A slow path to the registry (8 MiB/s) so the pull is still running when killed.
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd proxy_stdin(fds[1]), proxy_read(fds[0]);
  std::string port_file = dir_->Join("proxy-port");
  auto proxy = ChildProcess::Spawn(
      {.argv = {"python3", client::testing::SourceDir() + "/tests/e2e/image_throttle_proxy.py",
                port_file, registry_->host().substr(registry_->host().find(':') + 1),
                std::to_string(8 << 20)},
       .stdin_fd = proxy_read.get()});
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  std::string port;
  for (int i = 0; i < 200 && port.empty(); ++i) {
    auto text = ReadFile(port_file);
    if (text.ok()) port = text->substr(0, text->find('\n'));
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(port.empty());
  std::string ref = "127.0.0.1:" + port + "/berth/big:v1";

  auto pull = ChildProcess::Spawn(
      {.argv = system_->CtlArgs({"image", "pull", "--plain-http", "--max-concurrent", "1", ref}),
       .stdout_fd = SpawnOptions::kDevNull,
       .stderr_fd = SpawnOptions::kDevNull});
  ASSERT_TRUE(pull.ok()) << pull.status().ToString();
  // Kill it once the first layer's ingest holds a few MiB.
  std::string ingest = system_->root() + "/content/ingest";
  bool partial = false;
  for (int i = 0; i < 600 && !partial; ++i) {
    std::this_thread::sleep_for(50ms);
    auto entries = RunCapture({"bash", "-c", "du -sb " + ingest + " 2>/dev/null | cut -f1"});
    partial = entries.ok() && std::atoll(entries->c_str()) > (4 << 20);
  }
  ASSERT_TRUE(partial) << "the pull never wrote to an ingest";
  ASSERT_TRUE(pull->Kill(SIGKILL).ok());
  ASSERT_TRUE(pull->Wait().ok());

  auto resumed = system_->Ctl({"image", "pull", "--plain-http", ref});
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_NE(resumed->find("resuming at"), std::string::npos) << *resumed;
  auto check = system_->CtlJson({"image", "check", ref});
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE((*check)[0]["complete"].get<bool>());
  EXPECT_TRUE((*check)[0]["unpacked"].get<bool>());
  std::string mnt = dir_->Join("mnt");
  ASSERT_TRUE(MakeDirs(mnt).ok());
  ASSERT_TRUE(system_->Ctl({"image", "mount", ref, mnt}).ok());
  for (size_t i = 0; i < sums->size(); ++i) {
    auto sum = Sha256File(fmt::format("{}/data/layer-{}.bin", mnt, i));
    EXPECT_TRUE(sum.ok() && *sum == (*sums)[i]) << i;
  }
  ASSERT_TRUE(system_->Ctl({"image", "unmount", mnt}).ok());
}

}  // namespace
}  // namespace berth::e2e
