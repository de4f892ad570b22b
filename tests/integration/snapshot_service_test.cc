// berth-snapshot as a process under berthd, next to berth-content: plugins reported to berthd,
// layers applied from content (the blob travels as an fd between the two services), Compare
// into content, berthctl snapshot/diff, an overlayfs that cannot work on its filesystem, and a
// restart after kill -9. The test runs in a private mount namespace (mount_ns.h), which berthd
// and the services inherit, so nothing they mount outlives it.
#include <signal.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "common/fs.h"
#include "common/process.h"
#include "ipc/client.h"
#include "services/content/content.h"
#include "services/content/proxy.h"
#include "services/snapshot/proxy.h"
#include "services/snapshot/testing/mount_ns.h"
#include "services/snapshot/testing/tar_builder.h"
#include "services/snapshot/testing/test_util.h"
#include "services/snapshot/testing/tree.h"
#include "tests/integration/supervisor_test_util.h"

namespace berth::integration {
namespace {

namespace sv = berth::supervisor::v1;
using snapshot::testing::GzipBytes;
using snapshot::testing::TarBuilder;

BerthdOptions Services() {
  BerthdOptions options;
  options.services = {{"content", BuildPath("services/content/berth-content")},
                      {"snapshot", BuildPath("services/snapshot/berth-snapshot")}};
  return options;
}

class SnapshotServiceTest : public ::testing::Test {
 protected:
  void Start() {
    SNAP_ASSERT_OK(harness_.Start());
    SNAP_ASSERT_OK(harness_.WaitRunning("content").status());
    SNAP_ASSIGN_OR_FAIL(auto snapshot, harness_.WaitRunning("snapshot"));
    snapshot_pid_ = snapshot.pid();
    ipc::ClientOptions retry{.connect_timeout = std::chrono::seconds(10)};
    content_client_ = std::make_unique<ipc::Client>(harness_.ServiceSocket("content"), retry);
    content_ = std::make_unique<content::Proxy>(*content_client_);
    snapshot_client_ = std::make_unique<ipc::Client>(harness_.ServiceSocket("snapshot"), retry);
    differ_ = std::make_unique<snapshot::DifferProxy>(*snapshot_client_);
  }

  snapshot::SnapshotterProxy Snapshots(const std::string& name) {
    return snapshot::SnapshotterProxy(*snapshot_client_, name);
  }

  // The plugins of `type` once berth-snapshot registered them (registration is asynchronous).
  std::map<std::string, sv::Plugin> Plugins(const std::string& type, size_t want) {
    std::map<std::string, sv::Plugin> found;
    for (int attempt = 0; attempt < 200 && found.size() < want; ++attempt) {
      sv::ListPluginsRequest request;
      request.add_filters("type==" + type);
      auto list = harness_.supervisor().ListPlugins(request);
      found.clear();
      if (list.ok()) {
        for (const auto& plugin : list->plugins()) found[plugin.id()] = plugin;
      }
      if (found.size() < want) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return found;
  }

  snapshot::Descriptor StoreLayer(const std::string& tar) {
    std::string blob = GzipBytes(tar);
    Digest digest = *DigestBytes(blob);
    Status status = content::WriteBlob(*content_, "layer-" + digest.hex, blob, digest);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return snapshot::Descriptor{
        std::string(snapshot::kMediaTypeLayerGzip), digest, static_cast<int64_t>(blob.size()), {}};
  }

  BerthdHarness harness_{Services()};
  pid_t snapshot_pid_ = 0;
  std::unique_ptr<ipc::Client> content_client_;
  std::unique_ptr<content::Proxy> content_;
  std::unique_ptr<ipc::Client> snapshot_client_;
  std::unique_ptr<snapshot::DifferProxy> differ_;
};

TEST_F(SnapshotServiceTest, AppliesLayersFromContentAndReportsPlugins) {
  Start();
  auto snapshotters = Plugins("berth.snapshotter.v1", 2);
  ASSERT_EQ(snapshotters.size(), 2u);
  EXPECT_EQ(snapshotters["overlayfs"].status(), "ok");
  EXPECT_EQ(snapshotters["native"].status(), "ok");
  auto differs = Plugins("berth.differ.v1", 1);
  ASSERT_EQ(differs.count("walking"), 1u);

  std::string tar = TarBuilder()
                        .Dir("etc")
                        .File("etc/os-release", "ID=berth\n")
                        .File("bin-tool", "tool", 04755, 0, 0)
                        .Hardlink("bin-tool-link", "bin-tool")
                        .CharDev("null", 1, 3, 0666)
                        .Finish();
  snapshot::Descriptor layer = StoreLayer(tar);
  for (std::string name : {"overlayfs", "native"}) {
    SCOPED_TRACE(name);
    auto snapshots = Snapshots(name);
    SNAP_ASSIGN_OR_FAIL(auto mounts, snapshots.Prepare("extract", "", {}));
    SNAP_ASSIGN_OR_FAIL(snapshot::ApplyResult applied,
                        differ_->Apply(layer, mounts, {.sync = true}));
    EXPECT_EQ(applied.diff_id, *DigestBytes(tar));
    EXPECT_EQ(applied.entries, 5u);
    SNAP_ASSERT_OK(snapshots.Commit("layer1", "extract", {}));
    // Mount a view here, where the service's files are visible, and read the tree.
    SNAP_ASSIGN_OR_FAIL(auto view, snapshots.View("look", "layer1", {}));
    std::string target = harness_.root() + "/look-" + name;
    SNAP_ASSERT_OK(MakeDirs(target));
    {
      SNAP_ASSIGN_OR_FAIL(snapshot::MountGuard guard, snapshot::MountGuard::Create(view, target));
      SNAP_ASSIGN_OR_FAIL(std::string tree,
                          snapshot::testing::DescribeTree(target, {.mtimes = false}));
      EXPECT_NE(tree.find("bin-tool 100000 4755 0:0"), std::string::npos) << tree;
      EXPECT_NE(tree.find("bin-tool-link 100000 4755 0:0 size=4"), std::string::npos) << tree;
      EXPECT_NE(tree.find("null 20000 666 0:0 dev=1,3"), std::string::npos) << tree;
      SNAP_ASSERT_OK(guard.Release());
    }
    // Compare the view against a changed child: the layer lands in berth-content.
    SNAP_ASSIGN_OR_FAIL(auto child, snapshots.Prepare("child", "layer1", {}));
    std::string child_target = harness_.root() + "/child-" + name;
    SNAP_ASSERT_OK(MakeDirs(child_target));
    {
      SNAP_ASSIGN_OR_FAIL(snapshot::MountGuard guard,
                          snapshot::MountGuard::Create(child, child_target));
      SNAP_ASSERT_OK(WriteFileAtomic(child_target + "/added", "new\n"));
      SNAP_ASSERT_OK(guard.Release());
    }
    SNAP_ASSIGN_OR_FAIL(snapshot::CompareResult diff, differ_->Compare(view, child, {}));
    SNAP_ASSIGN_OR_FAIL(content::Info info, content_->GetInfo(diff.descriptor.digest));
    EXPECT_EQ(static_cast<int64_t>(info.size), diff.descriptor.size);
    SNAP_ASSERT_OK(snapshots.Remove("child"));
    SNAP_ASSERT_OK(snapshots.Remove("look"));
  }
}

TEST_F(SnapshotServiceTest, BerthctlSnapshotAndDiffCommands) {
  Start();
  std::string tar = TarBuilder().File("hello", "world\n").Finish();
  std::string diff_id = DigestBytes(tar)->ToString();
  snapshot::Descriptor layer = StoreLayer(tar);
  auto ctl = [&](std::vector<std::string> args) { return harness_.Berthctl(args); };
  auto json = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--format", "json"});
    auto out = harness_.Berthctl(args);
    EXPECT_TRUE(out.ok()) << fmt::format("{}", fmt::join(args, " ")) << ": "
                          << out.status().ToString();
    return out.ok() ? nlohmann::json::parse(*out) : nlohmann::json();
  };
  auto has = [](const nlohmann::json& mount, const std::string& prefix) {
    for (const auto& option : mount["options"]) {
      if (option.get<std::string>().rfind(prefix, 0) == 0) return true;
    }
    return false;
  };

  // prepare: an empty active snapshot is one read-write bind mount.
  SNAP_ASSIGN_OR_FAIL(std::string prepared, ctl({"snapshot", "prepare", "work"}));
  EXPECT_EQ(prepared.rfind("bind /", 0), 0u) << prepared;
  EXPECT_NE(prepared.find("/fs [rw,rbind]\n"), std::string::npos) << prepared;
  // diff apply: the layer from berth-content; prints its diffID.
  SNAP_ASSIGN_OR_FAIL(std::string applied, ctl({"diff", "apply", layer.digest.ToString(), "work"}));
  EXPECT_EQ(applied, diff_id + "\n");
  SNAP_ASSERT_OK(ctl({"snapshot", "commit", "base", "work", "--label", "team=red"}).status());
  // prepare on a parent: overlay with the parent's files as the lower layer.
  nlohmann::json top = json({"snapshot", "prepare", "top", "base"});
  ASSERT_EQ(top.size(), 1u) << top;
  EXPECT_EQ(top[0]["type"], "overlay");
  EXPECT_TRUE(has(top[0], "lowerdir=") && has(top[0], "upperdir=")) << top;
  // view: a read-only bind, printed as a mount(8) command with --target.
  SNAP_ASSIGN_OR_FAIL(std::string view,
                      ctl({"snapshot", "view", "look", "base", "--target", "/mnt/look"}));
  EXPECT_EQ(view.rfind("mount -t bind /", 0), 0u) << view;
  EXPECT_NE(view.find("/fs /mnt/look -o ro,rbind\n"), std::string::npos) << view;

  // ls (table and JSON), tree, info.
  SNAP_ASSIGN_OR_FAIL(std::string ls, ctl({"snapshot", "ls"}));
  EXPECT_EQ(ls.rfind("KEY", 0), 0u) << ls;
  std::map<std::string, std::pair<std::string, std::string>> kinds;  // key -> (kind, parent)
  for (const auto& info : json({"snapshot", "ls"})) {
    kinds[info["name"]] = {info["kind"].get<std::string>(), info["parent"].get<std::string>()};
  }
  EXPECT_EQ(kinds, (decltype(kinds){{"base", {"committed", ""}},
                                    {"look", {"view", "base"}},
                                    {"top", {"active", "base"}}}));
  SNAP_ASSIGN_OR_FAIL(std::string tree, ctl({"snapshot", "tree"}));
  EXPECT_EQ(tree, "base\n   \\_ look\n   \\_ top\n");
  nlohmann::json info = json({"snapshot", "info", "base"});
  EXPECT_EQ(info["kind"], "committed");
  EXPECT_EQ(info["labels"], nlohmann::json({{"team", "red"}}));
  // label: K= removes, K=V sets; ls filters see it.
  nlohmann::json labelled = json({"snapshot", "label", "base", "team=", "tier=gold"});
  EXPECT_EQ(labelled["labels"], nlohmann::json({{"tier", "gold"}}));
  nlohmann::json gold = json({"snapshot", "ls", "labels.tier==gold"});
  ASSERT_EQ(gold.size(), 1u) << gold;
  EXPECT_EQ(gold[0]["name"], "base");

  // mounts: mount(8) commands of the active snapshot.
  SNAP_ASSIGN_OR_FAIL(std::string mounts, ctl({"snapshot", "mounts", "/mnt", "top"}));
  EXPECT_EQ(mounts.rfind("mount -t overlay overlay /mnt -o ", 0), 0u) << mounts;
  EXPECT_NE(mounts.find("lowerdir="), std::string::npos) << mounts;
  // usage: the committed layer holds one file.
  nlohmann::json usage = json({"snapshot", "usage", "base"});
  ASSERT_EQ(usage.size(), 1u) << usage;
  EXPECT_EQ(usage[0]["inodes"], 1);
  EXPECT_GT(usage[0]["size"].get<int64_t>(), 0);

  // diff compare: a file added in top (written into its upper dir) becomes a layer in content.
  std::string upper = *snapshot::MountOption(
      snapshot::Mount{"overlay", "overlay", "", top[0]["options"].get<std::vector<std::string>>()},
      "upperdir");
  SNAP_ASSERT_OK(WriteFileAtomic(upper + "/added", "new\n"));
  nlohmann::json compared = json({"diff", "compare", "base", "top"});
  EXPECT_EQ(compared["media_type"], snapshot::kMediaTypeLayerGzip);
  SNAP_ASSIGN_OR_FAIL(Digest blob_digest, ParseDigest(compared["digest"].get<std::string>()));
  SNAP_ASSIGN_OR_FAIL(std::string blob, content::ReadBlob(*content_, blob_digest));
  EXPECT_EQ(static_cast<int64_t>(blob.size()), compared["size"].get<int64_t>());
  std::string blob_path = harness_.root() + "/compared.tar.gz";
  SNAP_ASSERT_OK(WriteFileAtomic(blob_path, blob));
  SNAP_ASSIGN_OR_FAIL(std::string listing, RunCapture({"tar", "-tzf", blob_path}));
  EXPECT_EQ(listing, "added\n");
  SNAP_ASSIGN_OR_FAIL(std::string compared_tar, RunCapture({"gzip", "-dc", blob_path}));
  EXPECT_EQ(compared["diff_id"], DigestBytes(compared_tar)->ToString());
  // The committed snapshot was compared through a temporary view, removed afterwards.
  EXPECT_EQ(json({"snapshot", "ls"}).size(), 3u);

  // rm: a parent with children is refused, naming a child; then in order.
  auto busy = ctl({"snapshot", "rm", "base"});
  EXPECT_FALSE(busy.ok());
  EXPECT_NE(busy.status().message().find("child"), std::string::npos) << busy.status().ToString();
  EXPECT_NE(busy.status().message().find("cannot remove snapshot \"base\""), std::string::npos)
      << busy.status().ToString();
  SNAP_ASSERT_OK(ctl({"snapshot", "rm", "top", "look", "base"}).status());
  EXPECT_TRUE(json({"snapshot", "ls"}).empty());
  SNAP_ASSIGN_OR_FAIL(std::string cleaned, ctl({"snapshot", "cleanup"}));
  EXPECT_EQ(cleaned, "removed 0 unreferenced directories\n");
  SNAP_ASSIGN_OR_FAIL(std::string native, ctl({"snapshot", "--snapshotter", "native", "ls"}));
  EXPECT_EQ(native.find("base"), std::string::npos) << native;

  // diff apply --file: local mode, no daemon involved.
  std::string file = harness_.root() + "/layer.tar.gz";
  SNAP_ASSERT_OK(WriteFileAtomic(file, GzipBytes(tar)));
  std::string dir = harness_.root() + "/local";
  SNAP_ASSERT_OK(MakeDirs(dir));
  SNAP_ASSIGN_OR_FAIL(std::string local, ctl({"diff", "apply", "--file", file, dir}));
  EXPECT_EQ(local.rfind(diff_id + "\nentries=1 ", 0), 0u) << local;
  SNAP_ASSIGN_OR_FAIL(std::string hello, ReadFile(dir + "/hello"));
  EXPECT_EQ(hello, "world\n");
}

TEST_F(SnapshotServiceTest, OverlayfsThatCannotWorkIsReportedAndNativeKeepsWorking) {
  // <root>/snapshot/overlayfs on an overlayfs mount: overlayfs cannot use it as an upper layer.
  std::string base = harness_.root() + "/ovl";
  for (const char* dir : {"/l", "/u", "/w"}) SNAP_ASSERT_OK(MakeDirs(base + dir));
  std::string dir = harness_.root() + "/snapshot/overlayfs";
  SNAP_ASSERT_OK(MakeDirs(dir, 0700));
  snapshot::Mount overlay{
      "overlay",
      "overlay",
      "",
      {"lowerdir=" + base + "/l", "upperdir=" + base + "/u", "workdir=" + base + "/w"}};
  SNAP_ASSIGN_OR_FAIL(snapshot::MountGuard guard, snapshot::MountGuard::Create({overlay}, dir));
  Start();
  auto plugins = Plugins("berth.snapshotter.v1", 2);
  ASSERT_EQ(plugins.size(), 2u);
  EXPECT_EQ(plugins["overlayfs"].status(), "error");
  EXPECT_NE(plugins["overlayfs"].error().find("overlayfs does not work"), std::string::npos)
      << plugins["overlayfs"].error();
  EXPECT_EQ(plugins["native"].status(), "ok");
  // berthctl's table carries the reason in STATUS, as `ctr plugins ls` does.
  auto table = harness_.Berthctl({"plugins", "ls", "type==berth.snapshotter.v1"});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  std::string row = table->substr(table->find("overlayfs"));
  row = row.substr(0, row.find('\n'));
  EXPECT_NE(row.find("    error: " + plugins["overlayfs"].error()), std::string::npos) << *table;
  EXPECT_NE(table->find("native"), std::string::npos) << *table;
  EXPECT_EQ(table->find("ok: "), std::string::npos) << "an ok plugin has no reason: " << *table;
  auto failed = Snapshots("overlayfs").Prepare("x", "", {});
  EXPECT_EQ(failed.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(failed.status().message().find("overlayfs does not work"), std::string::npos)
      << failed.status().ToString();
  auto native = Snapshots("native");
  SNAP_ASSIGN_OR_FAIL(auto mounts, native.Prepare("x", "", {}));
  SNAP_ASSERT_OK(
      differ_->Apply(StoreLayer(TarBuilder().File("f", "1").Finish()), mounts, {}).status());
  SNAP_ASSERT_OK(native.Commit("c", "x", {}));
  // Stop the service before the mount goes, so nothing holds it.
  SNAP_ASSERT_OK(harness_.Terminate().status());
  SNAP_ASSERT_OK(guard.Release());
}

TEST_F(SnapshotServiceTest, RecordsSurviveKillAndLeftoversAreCleanedAtStart) {
  Start();
  auto native = Snapshots("native");
  SNAP_ASSIGN_OR_FAIL(auto mounts, native.Prepare("a", "", {{"k", "v"}}));
  SNAP_ASSERT_OK(
      differ_->Apply(StoreLayer(TarBuilder().File("f", "1").Finish()), mounts, {}).status());
  SNAP_ASSERT_OK(native.Commit("c", "a", {}));
  std::string leftover = harness_.root() + "/snapshot/native/snapshots/new-4242";
  SNAP_ASSERT_OK(MakeDirs(leftover + "/fs"));
  ASSERT_EQ(::kill(snapshot_pid_, SIGKILL), 0);
  SNAP_ASSIGN_OR_FAIL(auto restarted,
                      harness_.WaitRunning("snapshot", std::chrono::seconds(10), snapshot_pid_));
  EXPECT_NE(restarted.pid(), static_cast<uint32_t>(snapshot_pid_));
  SNAP_ASSIGN_OR_FAIL(snapshot::Info info, native.Stat("c"));
  EXPECT_EQ(info.kind, snapshot::Kind::kCommitted);
  SNAP_ASSIGN_OR_FAIL(snapshot::Usage usage, native.GetUsage("c"));
  EXPECT_EQ(usage.inodes, 1);
  EXPECT_NE(::access(leftover.c_str(), F_OK), 0) << "leftover directory was not cleaned up";
}

}  // namespace
}  // namespace berth::integration
