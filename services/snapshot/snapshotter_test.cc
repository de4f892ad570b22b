// The snapshotter conformance suite (after containerd's snapshots/testsuite), run against
// overlayfs and native, each directly and through proxy -> IPC -> server -> backend. Mounts are
// real (overlayfs, bind) and made in the test's private mount namespace, always unmounted by
// RAII guards.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "common/fs.h"
#include "common/temp_dir.h"
#include "ipc/client.h"
#include "services/snapshot/drivers.h"
#include "services/snapshot/proxy.h"
#include "services/snapshot/testing/mount_ns.h"
#include "services/snapshot/testing/test_util.h"
#include "services/snapshot/testing/tree.h"

namespace berth::snapshot {
namespace {

struct Backend {
  std::string name;
  bool ipc;
};

class SnapshotterTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    auto dir = TempDir::Create("b-snap");
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    tmp_.emplace(std::move(*dir));
    Open();
  }

  void TearDown() override {
    Close();
    // Nothing may stay mounted below the test's directory.
    auto mounts = ReadFile("/proc/self/mountinfo");
    ASSERT_TRUE(mounts.ok());
    EXPECT_EQ(mounts->find(tmp_->path()), std::string::npos) << *mounts;
  }

  void Open() {
    auto opened = OpenSnapshotter(tmp_->Join("snapshot"), GetParam().name);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    backend_ = std::move(*opened);
    if (!GetParam().ipc) return;
    std::string socket = tmp_->Join("s.sock");
    server_ = std::make_unique<testing::ServerThread>(
        socket, std::map<std::string, Snapshotter*>{{GetParam().name, backend_.get()}}, nullptr);
    SNAP_ASSERT_OK(server_->status());
    client_ = std::make_unique<ipc::Client>(socket);
    proxy_ = std::make_unique<SnapshotterProxy>(*client_, GetParam().name);
  }

  void Close() {
    proxy_.reset();
    client_.reset();
    server_.reset();
    backend_.reset();
  }

  Snapshotter& s() { return proxy_ ? static_cast<Snapshotter&>(*proxy_) : *backend_; }

  // A fresh mount point with `mounts` on it.
  Result<MountGuard> MountAt(const std::vector<Mount>& mounts) {
    std::string target = tmp_->Join("m" + std::to_string(next_mount_++));
    BERTH_RETURN_IF_ERROR(MakeDirs(target, 0755));
    return MountGuard::Create(mounts, target);
  }

  // Prepares `key` on `parent`, runs `write` on its mounted root, unmounts, commits as `name`.
  void Layer(const std::string& name, const std::string& parent,
             const std::function<void(const std::string&)>& write) {
    std::string key = name + "-active";
    SNAP_ASSIGN_OR_FAIL(auto mounts, s().Prepare(key, parent, {}));
    {
      SNAP_ASSIGN_OR_FAIL(MountGuard guard, MountAt(mounts));
      write(guard.target());
      SNAP_ASSERT_OK(guard.Release());
    }
    SNAP_ASSERT_OK(s().Commit(name, key, {}));
  }

  // The tree of a view of `parent`.
  std::string ViewTree(const std::string& parent) {
    std::string key = "view-of-" + parent + std::to_string(next_mount_);
    auto mounts = s().View(key, parent, {});
    EXPECT_TRUE(mounts.ok()) << mounts.status().ToString();
    if (!mounts.ok()) return "";
    std::string tree;
    {
      auto guard = MountAt(*mounts);
      EXPECT_TRUE(guard.ok()) << guard.status().ToString();
      if (!guard.ok()) return "";
      auto described = testing::DescribeTree(guard->target(), {.mtimes = false});
      EXPECT_TRUE(described.ok());
      tree = described.ok() ? *described : "";
    }
    SNAP_EXPECT_OK(s().Remove(key));
    return tree;
  }

  std::optional<TempDir> tmp_;
  std::unique_ptr<FsSnapshotter> backend_;
  std::unique_ptr<testing::ServerThread> server_;
  std::unique_ptr<ipc::Client> client_;
  std::unique_ptr<SnapshotterProxy> proxy_;
  int next_mount_ = 0;
};

void Write(const std::string& path, const std::string& data, mode_t mode = 0644) {
  SNAP_ASSERT_OK(WriteFileAtomic(path, data, mode));
}

TEST_P(SnapshotterTest, PrepareCommitViewAcrossLayers) {
  Layer("base", "", [](const std::string& root) {
    SNAP_ASSERT_OK(MakeDirs(root + "/dir", 0750));
    Write(root + "/dir/bar", "bar");
    Write(root + "/foo", "foo");
    Write(root + "/moved", "m");
    ASSERT_EQ(::chown((root + "/foo").c_str(), 1000, 1001), 0);
  });
  Layer("top", "base", [](const std::string& root) {
    SNAP_ASSIGN_OR_FAIL(std::string foo, ReadFile(root + "/foo"));
    EXPECT_EQ(foo, "foo");
    ASSERT_EQ(::unlink((root + "/foo").c_str()), 0);
    ASSERT_EQ(::rename((root + "/moved").c_str(), (root + "/dir/moved").c_str()), 0);
    Write(root + "/baz", "baz", 0600);
  });
  EXPECT_EQ(ViewTree("base"),
            "dir 40000 750 0:0\n"
            "dir/bar 100000 644 0:0 size=3 fcde2b2edba56bf4\n"
            "foo 100000 644 1000:1001 size=3 2c26b46b68ffc68f\n"
            "moved 100000 644 0:0 size=1 62c66a7a5dd70c31\n");
  EXPECT_EQ(ViewTree("top"),
            "baz 100000 600 0:0 size=3 baa5a0964d3320fb\n"
            "dir 40000 750 0:0\n"
            "dir/bar 100000 644 0:0 size=3 fcde2b2edba56bf4\n"
            "dir/moved 100000 644 0:0 size=1 62c66a7a5dd70c31\n");
}

TEST_P(SnapshotterTest, StatReportsKindParentLabelsAndTimes) {
  SNAP_ASSERT_OK(s().Prepare("a", "", {{"l", "1"}}).status());
  SNAP_ASSIGN_OR_FAIL(Info active, s().Stat("a"));
  EXPECT_EQ(active.name, "a");
  EXPECT_EQ(active.kind, Kind::kActive);
  EXPECT_EQ(active.parent, "");
  EXPECT_EQ(active.labels, (Labels{{"l", "1"}}));
  EXPECT_GT(active.created_at, 0);
  EXPECT_EQ(active.created_at, active.updated_at);
  SNAP_ASSERT_OK(s().Commit("c", "a", {{"committed", "yes"}}));
  SNAP_ASSIGN_OR_FAIL(Info committed, s().Stat("c"));
  EXPECT_EQ(committed.kind, Kind::kCommitted);
  EXPECT_EQ(committed.labels, (Labels{{"committed", "yes"}}));
  EXPECT_EQ(s().Stat("a").status().code(), Code::kNotFound);
  SNAP_ASSERT_OK(s().View("v", "c", {}).status());
  SNAP_ASSIGN_OR_FAIL(Info view, s().Stat("v"));
  EXPECT_EQ(view.kind, Kind::kView);
  EXPECT_EQ(view.parent, "c");
}

TEST_P(SnapshotterTest, ErrorsFollowContainerdSemantics) {
  SNAP_ASSERT_OK(s().Prepare("a", "", {}).status());
  EXPECT_EQ(s().Prepare("a", "", {}).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(s().View("a", "", {}).status().code(), Code::kAlreadyExists);
  EXPECT_EQ(s().Prepare("b", "missing", {}).status().code(), Code::kNotFound);
  EXPECT_EQ(s().Prepare("b", "a", {}).status().code(), Code::kInvalidArgument);  // not committed
  EXPECT_EQ(s().Prepare("", "", {}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(s().Prepare("b", "", {{"", "x"}}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(s().Prepare("b", "", {{"k", std::string(5000, 'v')}}).status().code(),
            Code::kInvalidArgument);
  SNAP_ASSERT_OK(s().Commit("c", "a", {}));
  EXPECT_EQ(s().Commit("c2", "a", {}).code(), Code::kNotFound);
  EXPECT_EQ(s().Commit("c2", "c", {}).code(), Code::kFailedPrecondition);
  EXPECT_EQ(s().Mounts("c").status().code(), Code::kFailedPrecondition);
  SNAP_ASSERT_OK(s().View("v", "c", {}).status());
  EXPECT_EQ(s().Commit("c3", "v", {}).code(), Code::kFailedPrecondition);
  SNAP_ASSERT_OK(s().Prepare("d", "c", {}).status());
  EXPECT_EQ(s().Commit("c", "d", {}).code(), Code::kAlreadyExists);
  EXPECT_EQ(s().Mounts("missing").status().code(), Code::kNotFound);
  EXPECT_EQ(s().Remove("missing").code(), Code::kNotFound);
  // A failed Prepare leaves nothing behind.
  SNAP_ASSIGN_OR_FAIL(int64_t removed, s().Cleanup());
  EXPECT_EQ(removed, 0);
}

TEST_P(SnapshotterTest, RemoveWithChildrenIsFailedPrecondition) {
  Layer("base", "", [](const std::string& root) { Write(root + "/f", "x"); });
  Layer("mid", "base", [](const std::string&) {});
  SNAP_ASSERT_OK(s().Prepare("active", "mid", {}).status());
  SNAP_ASSERT_OK(s().View("view", "base", {}).status());
  Status status = s().Remove("mid");
  EXPECT_EQ(status.code(), Code::kFailedPrecondition) << status.ToString();
  EXPECT_NE(status.message().find("active"), std::string::npos) << status.ToString();
  EXPECT_EQ(s().Remove("base").code(), Code::kFailedPrecondition);
  SNAP_ASSERT_OK(s().Remove("active"));
  SNAP_ASSERT_OK(s().Remove("mid"));
  EXPECT_EQ(s().Remove("base").code(), Code::kFailedPrecondition);  // the view
  SNAP_ASSERT_OK(s().Remove("view"));
  SNAP_ASSERT_OK(s().Remove("base"));
  EXPECT_EQ(s().Stat("base").status().code(), Code::kNotFound);
  // Every snapshot directory is gone with its record.
  SNAP_ASSIGN_OR_FAIL(UniqueFd dir, OpenDirectory(backend_->dir() + "/snapshots"));
  SNAP_ASSIGN_OR_FAIL(auto names, ListDir(dir.get()));
  EXPECT_TRUE(names.empty()) << names.size();
}

TEST_P(SnapshotterTest, UpdateChangesOnlyLabels) {
  SNAP_ASSERT_OK(s().Prepare("a", "", {{"keep", "1"}, {"drop", "2"}}).status());
  SNAP_ASSIGN_OR_FAIL(Info before, s().Stat("a"));
  Info change;
  change.name = "a";
  change.labels = {{"new", "3"}};
  SNAP_ASSIGN_OR_FAIL(Info updated, s().Update(change, {"labels.new", "labels.drop"}));
  EXPECT_EQ(updated.labels, (Labels{{"keep", "1"}, {"new", "3"}}));
  EXPECT_GE(updated.updated_at, before.updated_at);
  EXPECT_EQ(updated.created_at, before.created_at);
  SNAP_ASSIGN_OR_FAIL(Info stat, s().Stat("a"));
  EXPECT_EQ(stat.labels, updated.labels);
  change.labels = {{"only", "this"}};
  SNAP_ASSIGN_OR_FAIL(Info replaced, s().Update(change, {}));
  EXPECT_EQ(replaced.labels, (Labels{{"only", "this"}}));
  EXPECT_EQ(s().Update(change, {"parent"}).status().code(), Code::kInvalidArgument);
  change.name = "missing";
  EXPECT_EQ(s().Update(change, {}).status().code(), Code::kNotFound);
}

TEST_P(SnapshotterTest, WalkFiltersLikeContainerd) {
  Layer("sha256:base", "", [](const std::string&) {});
  SNAP_ASSERT_OK(s().Prepare("work", "sha256:base", {{"containerd.io/gc.root", "x"}}).status());
  SNAP_ASSERT_OK(s().View("look", "sha256:base", {{"team", "red"}}).status());
  auto names = [&](std::vector<std::string> filters) {
    std::vector<std::string> out;
    Status status = s().Walk(
        [&](const Info& info) {
          out.push_back(info.name);
          return Status::Ok();
        },
        filters);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return out;
  };
  EXPECT_EQ(names({}), (std::vector<std::string>{"look", "sha256:base", "work"}));
  EXPECT_EQ(names({"kind==committed"}), (std::vector<std::string>{"sha256:base"}));
  EXPECT_EQ(names({"parent==sha256:base"}), (std::vector<std::string>{"look", "work"}));
  EXPECT_EQ(names({"labels.\"containerd.io/gc.root\""}), (std::vector<std::string>{"work"}));
  EXPECT_EQ(names({"labels.team==red", "kind==active"}),
            (std::vector<std::string>{"look", "work"}));
  EXPECT_EQ(names({"name~=^sha256:,kind!=active"}), (std::vector<std::string>{"sha256:base"}));
  EXPECT_EQ(s().Walk([](const Info&) { return Status::Ok(); }, {"name=="}).code(), Code::kOk);
  EXPECT_EQ(s().Walk([](const Info&) { return Status::Ok(); }, {"name~=("}).code(),
            Code::kInvalidArgument);
  // A callback error stops the walk and comes back.
  int calls = 0;
  Status stopped = s().Walk([&](const Info&) {
    ++calls;
    return Status(Code::kAborted, "enough");
  });
  EXPECT_EQ(stopped.code(), Code::kAborted);
  EXPECT_EQ(calls, 1);
}

TEST_P(SnapshotterTest, UsageCountsOwnFilesOnly) {
  Layer("base", "", [](const std::string& root) {
    Write(root + "/big", std::string(1 << 20, 'b'));
    ASSERT_EQ(::link((root + "/big").c_str(), (root + "/big2").c_str()), 0);
  });
  SNAP_ASSIGN_OR_FAIL(Usage base, s().GetUsage("base"));
  EXPECT_GE(base.size, 1 << 20);
  EXPECT_LT(base.size, 2 << 20);  // hardlinks counted once
  EXPECT_EQ(base.inodes, 1);
  SNAP_ASSIGN_OR_FAIL(auto mounts, s().Prepare("child", "base", {}));
  SNAP_ASSIGN_OR_FAIL(Usage empty, s().GetUsage("child"));
  if (GetParam().name == kOverlayfs) {
    EXPECT_EQ(empty.inodes, 0);  // only its own (empty) upper layer
  } else {
    EXPECT_EQ(empty.inodes, 1);  // a full copy
  }
  {
    SNAP_ASSIGN_OR_FAIL(MountGuard guard, MountAt(mounts));
    Write(guard.target() + "/more", std::string(300000, 'm'));
    SNAP_ASSERT_OK(guard.Release());
  }
  SNAP_ASSIGN_OR_FAIL(Usage grown, s().GetUsage("child"));
  EXPECT_GE(grown.size, empty.size + 300000);
  EXPECT_EQ(grown.inodes, empty.inodes + 1);
}

TEST_P(SnapshotterTest, ViewsAreReadOnlyAndMountsAreStable) {
  Layer("base", "", [](const std::string& root) { Write(root + "/f", "x"); });
  Layer("top", "base", [](const std::string& root) { Write(root + "/g", "y"); });
  SNAP_ASSIGN_OR_FAIL(auto view, s().View("v", "top", {}));
  SNAP_ASSIGN_OR_FAIL(auto again, s().Mounts("v"));
  EXPECT_EQ(view, again);
  SNAP_ASSIGN_OR_FAIL(MountGuard guard, MountAt(view));
  int fd = ::open((guard.target() + "/new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(errno, EROFS);
  if (fd >= 0) ::close(fd);
  SNAP_ASSERT_OK(guard.Release());
  SNAP_ASSIGN_OR_FAIL(auto active, s().Prepare("p", "top", {}));
  SNAP_ASSIGN_OR_FAIL(auto active_again, s().Mounts("p"));
  EXPECT_EQ(active, active_again);
}

bool HasOption(const Mount& mount, const std::string& option) {
  return std::find(mount.options.begin(), mount.options.end(), option) != mount.options.end();
}

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

TEST_P(SnapshotterTest, MountsAreABindForOneLayerAndAnOverlayChainOtherwise) {
  const bool overlay = GetParam().name == kOverlayfs;
  SNAP_ASSIGN_OR_FAIL(auto empty, s().Prepare("empty", "", {}));
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(empty[0].type, "bind");
  EXPECT_TRUE(HasOption(empty[0], "rw") && HasOption(empty[0], "rbind")) << MountToString(empty[0]);
  SNAP_ASSIGN_OR_FAIL(auto empty_view, s().View("empty-view", "", {}));
  ASSERT_EQ(empty_view.size(), 1u);
  EXPECT_EQ(empty_view[0].type, "bind");
  EXPECT_TRUE(HasOption(empty_view[0], "ro")) << MountToString(empty_view[0]);

  Layer("base", "", [](const std::string& root) { Write(root + "/f", "base"); });
  Layer("top", "base", [](const std::string& root) { Write(root + "/g", "top"); });

  // One layer below a view: a read-only bind of that layer's files.
  SNAP_ASSIGN_OR_FAIL(auto one, s().View("one", "base", {}));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].type, "bind");
  EXPECT_TRUE(HasOption(one[0], "ro")) << MountToString(one[0]);
  EXPECT_TRUE(Exists(one[0].source + "/f"));

  // An active snapshot on a parent: overlay with the parent as lowerdir (native: a bind of a
  // full copy).
  SNAP_ASSIGN_OR_FAIL(auto child, s().Prepare("child", "base", {}));
  ASSERT_EQ(child.size(), 1u);
  if (overlay) {
    EXPECT_EQ(child[0].type, "overlay");
    std::vector<std::string> lowers = OverlayLowerDirs(child[0]);
    ASSERT_EQ(lowers.size(), 1u) << MountToString(child[0]);
    EXPECT_TRUE(Exists(lowers[0] + "/f"));
    auto upper = MountOption(child[0], "upperdir");
    auto work = MountOption(child[0], "workdir");
    ASSERT_TRUE(upper && work) << MountToString(child[0]);
    EXPECT_FALSE(Exists(*upper + "/f"));  // only this snapshot's own changes
  } else {
    EXPECT_EQ(child[0].type, "bind");
    EXPECT_TRUE(HasOption(child[0], "rw")) << MountToString(child[0]);
    EXPECT_TRUE(Exists(child[0].source + "/f"));
  }

  // Two layers: overlay lowerdir chain, top layer first, no upper dir for a view.
  SNAP_ASSIGN_OR_FAIL(auto two, s().View("two", "top", {}));
  ASSERT_EQ(two.size(), 1u);
  if (overlay) {
    EXPECT_EQ(two[0].type, "overlay");
    std::vector<std::string> lowers = OverlayLowerDirs(two[0]);
    ASSERT_EQ(lowers.size(), 2u) << MountToString(two[0]);
    EXPECT_TRUE(Exists(lowers[0] + "/g") && !Exists(lowers[0] + "/f"));
    EXPECT_TRUE(Exists(lowers[1] + "/f") && !Exists(lowers[1] + "/g"));
    EXPECT_FALSE(MountOption(two[0], "upperdir")) << MountToString(two[0]);
  } else {
    EXPECT_EQ(two[0].type, "bind");
    EXPECT_TRUE(HasOption(two[0], "ro")) << MountToString(two[0]);
    EXPECT_TRUE(Exists(two[0].source + "/f") && Exists(two[0].source + "/g"));
  }
}

// cachestat(2) (Linux 6.5): the page cache state of a whole file, dirty pages included.
struct PageCacheState {
  uint64_t cached, dirty, writeback, evicted, recently_evicted;
};

Result<PageCacheState> CacheStat(int fd) {
  struct {
    uint64_t offset, length;  // length 0: to the end of the file
  } range{0, 0};
  PageCacheState state{};
  constexpr long kCachestat = 451;
  if (::syscall(kCachestat, fd, &range, &state, 0) != 0) return ErrnoStatus(errno, "cachestat");
  return state;
}

TEST_P(SnapshotterTest, CommitPutsTheFilesOnDiskBeforeRecordingThem) {
  // Files written into an active snapshot (as Apply writes them: straight into its directory,
  // never fsynced one by one) sit dirty in the page cache. After Commit returns none may be
  // dirty or under writeback: a crash can never leave a committed snapshot with empty files.
  SNAP_ASSIGN_OR_FAIL(auto mounts, s().Prepare("unpacked", "", {}));
  ASSERT_EQ(mounts[0].type, "bind");
  std::string fs = mounts[0].source;
  std::vector<UniqueFd> files;
  uint64_t dirty = 0;
  // Anyone's sync(1) may clean the pages first (tests run in parallel): write again then.
  for (int attempt = 0; attempt < 5 && dirty == 0; ++attempt) {
    std::string path = fs + "/data-" + std::to_string(attempt);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    ASSERT_TRUE(fd) << path;
    std::string data(8 << 20, 'd');
    ASSERT_EQ(::write(fd.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
    SNAP_ASSIGN_OR_FAIL(PageCacheState state, CacheStat(fd.get()));
    dirty = state.dirty;
    files.push_back(std::move(fd));
  }
  ASSERT_GT(dirty, 0u) << "the test could not produce dirty pages to check";
  SNAP_ASSERT_OK(s().Commit("committed", "unpacked", {}));
  for (const UniqueFd& fd : files) {
    SNAP_ASSIGN_OR_FAIL(PageCacheState state, CacheStat(fd.get()));
    EXPECT_EQ(state.dirty, 0u);
    EXPECT_EQ(state.writeback, 0u);
    EXPECT_GT(state.cached, 0u);
  }
}

TEST_P(SnapshotterTest, DeepChainMountsPastTheOptionsPageLimit) {
  // overlayfs: options past one page; native copies every layer, so fewer suffice.
  const int kLayers = GetParam().name == kOverlayfs ? 130 : 30;
  std::string parent;
  for (int i = 0; i < kLayers; ++i) {
    std::string name = "layer-" + std::to_string(i);
    Layer(name, parent, [&](const std::string& root) {
      Write(root + "/" + name, std::to_string(i));
      if (i == kLayers - 1) {
        ASSERT_EQ(::unlink((root + "/layer-0").c_str()), 0);
      }
    });
    parent = name;
  }
  SNAP_ASSIGN_OR_FAIL(auto mounts, s().Prepare("top", parent, {}));
  ASSERT_EQ(mounts.size(), 1u);
  size_t option_bytes = 0;
  for (const std::string& option : mounts[0].options) option_bytes += option.size() + 1;
  if (GetParam().name == kOverlayfs) {
    EXPECT_EQ(mounts[0].type, "overlay");
    EXPECT_GT(option_bytes, 4096u);  // more than mount(2) takes in one page
  }
  SNAP_ASSIGN_OR_FAIL(MountGuard guard, MountAt(mounts));
  for (int i = 1; i < kLayers; ++i) {
    std::string path = guard.target() + "/layer-" + std::to_string(i);
    SNAP_ASSIGN_OR_FAIL(std::string data, ReadFile(path));
    EXPECT_EQ(data, std::to_string(i));
  }
  EXPECT_NE(::access((guard.target() + "/layer-0").c_str(), F_OK), 0);
  Write(guard.target() + "/written-on-top", "ok");
  SNAP_ASSERT_OK(guard.Release());
  if (GetParam().name != kOverlayfs) return;
  // The fallback for kernels without "lowerdir+" (< 6.8): relative lowerdirs from a helper
  // thread chdir'ed to their common parent. The view (no upper) shows the same chain.
  SNAP_ASSIGN_OR_FAIL(auto view, s().View("deep-view", parent, {}));
  ASSERT_EQ(view.size(), 1u);
  std::string relative_target = tmp_->Join("relative");
  SNAP_ASSERT_OK(MakeDirs(relative_target, 0755));
  SNAP_ASSERT_OK(MountOverlayRelative(view[0], relative_target));
  auto tree = testing::DescribeTree(relative_target, {.mtimes = false});
  SNAP_EXPECT_OK(Unmount(relative_target));
  SNAP_ASSERT_OK(tree.status());
  for (int i = 1; i < kLayers; ++i) {
    EXPECT_NE(tree->find("layer-" + std::to_string(i) + " 100000"), std::string::npos) << i;
  }
  EXPECT_EQ(tree->find("layer-0 "), std::string::npos);
  EXPECT_EQ(tree->find("written-on-top"), std::string::npos);
}

TEST_P(SnapshotterTest, CleanupRemovesOnlyOrphans) {
  Layer("base", "", [](const std::string& root) { Write(root + "/f", "x"); });
  SNAP_ASSERT_OK(s().Prepare("a", "base", {}).status());
  // What a crash between steps leaves behind.
  std::string snapshots = backend_->dir() + "/snapshots";
  SNAP_ASSERT_OK(MakeDirs(snapshots + "/new-999/fs", 0755));
  SNAP_ASSERT_OK(MakeDirs(snapshots + "/rm-3/fs", 0755));
  SNAP_ASSERT_OK(MakeDirs(snapshots + "/12345/fs", 0755));
  SNAP_ASSIGN_OR_FAIL(int64_t removed, s().Cleanup());
  EXPECT_EQ(removed, 3);
  SNAP_ASSIGN_OR_FAIL(UniqueFd dir, OpenDirectory(snapshots));
  SNAP_ASSIGN_OR_FAIL(auto names, ListDir(dir.get()));
  EXPECT_EQ(names.size(), 2u);
  EXPECT_EQ(ViewTree("base"), "f 100000 644 0:0 size=1 2d711642b726b044\n");
}

TEST_P(SnapshotterTest, RecordsSurviveReopen) {
  Layer("base", "", [](const std::string& root) { Write(root + "/f", "x"); });
  SNAP_ASSIGN_OR_FAIL(auto mounts, s().Prepare("a", "base", {{"k", "v"}}));
  Close();
  Open();
  SNAP_ASSIGN_OR_FAIL(Info info, s().Stat("a"));
  EXPECT_EQ(info.labels, (Labels{{"k", "v"}}));
  SNAP_ASSIGN_OR_FAIL(auto again, s().Mounts("a"));
  EXPECT_EQ(again, mounts);
  EXPECT_EQ(ViewTree("base"), "f 100000 644 0:0 size=1 2d711642b726b044\n");
}

TEST_P(SnapshotterTest, ConcurrentPrepareAndCommit) {
  Layer("base", "", [](const std::string& root) { Write(root + "/f", "x"); });
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        std::string key = "k" + std::to_string(t) + "-" + std::to_string(i);
        if (!s().Prepare(key, "base", {}).ok() || !s().Commit("c" + key, key, {}).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  int count = 0;
  SNAP_ASSERT_OK(s().Walk(
      [&](const Info&) {
        ++count;
        return Status::Ok();
      },
      {"kind==committed"}));
  EXPECT_EQ(count, 49);
}

INSTANTIATE_TEST_SUITE_P(Backends, SnapshotterTest,
                         ::testing::Values(Backend{"overlayfs", false}, Backend{"native", false},
                                           Backend{"overlayfs", true}, Backend{"native", true}),
                         [](const auto& info) {
                           return info.param.name + (info.param.ipc ? "OverIpc" : "Direct");
                         });

}  // namespace
}  // namespace berth::snapshot
