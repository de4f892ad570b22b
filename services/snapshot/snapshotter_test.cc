// The snapshotter conformance suite (after containerd's snapshots/testsuite), run against
// overlayfs and native, each directly and through proxy -> IPC -> server -> backend. Mounts are
// real (overlayfs, bind) and made in the test's private mount namespace, always unmounted by
// RAII guards.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
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

TEST_P(SnapshotterTest, StatInsideWalkSeesWhatWalkSees) {
  // containerd's StatInWalk: a Walk callback may call back into the snapshotter. More snapshots
  // than one List batch (100) so that over IPC the Stat calls interleave with the stream.
  Layer("base", "", [](const std::string& root) { Write(root + "/f", "x"); });
  Layer("mid", "base", [](const std::string&) {});
  SNAP_ASSERT_OK(s().View("look", "mid", {{"team", "red"}}).status());
  for (int i = 0; i < 120; ++i) {
    SNAP_ASSERT_OK(
        s().Prepare("work-" + std::to_string(i), "base", {{"i", std::to_string(i)}}).status());
  }
  std::vector<std::string> walked;
  Status status = s().Walk([&](const Info& info) {
    walked.push_back(info.name);
    auto stat = s().Stat(info.name);
    if (!stat.ok()) return stat.status();
    EXPECT_EQ(stat->name, info.name);
    EXPECT_EQ(stat->parent, info.parent) << info.name;
    EXPECT_EQ(stat->kind, info.kind) << info.name;
    EXPECT_EQ(stat->labels, info.labels) << info.name;
    EXPECT_EQ(stat->created_at, info.created_at) << info.name;
    EXPECT_EQ(stat->updated_at, info.updated_at) << info.name;
    // Stat of a snapshot the walk has not reached yet works as well.
    auto other = s().Stat("work-119");
    if (!other.ok()) return other.status();
    EXPECT_EQ(other->kind, Kind::kActive);
    return Status::Ok();
  });
  SNAP_ASSERT_OK(status);
  EXPECT_EQ(walked.size(), 123u);
  EXPECT_TRUE(std::is_sorted(walked.begin(), walked.end()));
  EXPECT_NE(std::find(walked.begin(), walked.end(), "look"), walked.end());
  EXPECT_NE(std::find(walked.begin(), walked.end(), "mid"), walked.end());
}

// The permission bits of `path` (not following a symlink), or -1.
int ModeOf(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

TEST_P(SnapshotterTest, FreshSnapshotRootIs0755) {
  // containerd's RootPermission: the root of a new snapshot is 0755 whatever the umask of the
  // process that made it.
  Layer("base", "", [](const std::string& root) { Write(root + "/f", "x"); });
  mode_t old_umask = ::umask(077);
  auto active = s().Prepare("active", "", {});
  auto child = s().Prepare("child", "base", {});
  auto view = s().View("view", "", {});
  auto base_view = s().View("base-view", "base", {});
  ::umask(old_umask);
  for (auto* mounts : {&active, &child, &view, &base_view}) {
    SNAP_ASSERT_OK(mounts->status());
    SNAP_ASSIGN_OR_FAIL(MountGuard guard, MountAt(**mounts));
    EXPECT_EQ(ModeOf(guard.target()), 0755) << MountToString((**mounts)[0]);
    struct stat st;
    ASSERT_EQ(::stat(guard.target().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(st.st_gid, 0u);
    SNAP_ASSERT_OK(guard.Release());
  }
}

// Moves directory `from` to `to` as mv(1) does: rename(2), or, where overlayfs refuses to rename
// a directory of a lower layer (EXDEV without redirect_dir), a new directory with the same mode
// that the entries (files only here) are renamed into, then rmdir of the old one.
void MoveDir(const std::string& from, const std::string& to, bool overlay) {
  if (::rename(from.c_str(), to.c_str()) == 0) return;
  ASSERT_EQ(errno, EXDEV) << from;
  ASSERT_TRUE(overlay) << "only overlayfs may refuse to rename a directory: " << from;
  struct stat st;
  ASSERT_EQ(::lstat(from.c_str(), &st), 0);
  ASSERT_EQ(::mkdir(to.c_str(), st.st_mode & 07777), 0);
  ASSERT_EQ(::chmod(to.c_str(), st.st_mode & 07777), 0);
  SNAP_ASSIGN_OR_FAIL(UniqueFd dir, OpenDirectory(from));
  SNAP_ASSIGN_OR_FAIL(auto names, ListDir(dir.get()));
  for (const std::string& name : names) {
    ASSERT_EQ(::rename((from + "/" + name).c_str(), (to + "/" + name).c_str()), 0) << name;
  }
  ASSERT_EQ(::rmdir(from.c_str()), 0);
}

TEST_P(SnapshotterTest, RenameDirectoryOfALowerLayer) {
  // containerd's Rename: a directory that comes from the parent is renamed in the child, its
  // old name is reused by a file, and a file in it is overwritten. The parent stays as it was.
  const bool overlay = GetParam().name == kOverlayfs;
  Layer("base", "", [](const std::string& root) {
    ASSERT_EQ(::mkdir((root + "/dir1").c_str(), 0700), 0);
    Write(root + "/dir1/f1", "f1");
    Write(root + "/dir1/f2", "f2");
    Write(root + "/somefiles", "something");
  });
  const std::string base_tree =
      "dir1 40000 700 0:0\n"
      "dir1/f1 100000 644 0:0 size=2 3f524cdc07a11d7c\n"
      "dir1/f2 100000 644 0:0 size=2 e4ab4e3b1493d5a9\n"
      "somefiles 100000 644 0:0 size=9 3fc9b689459d738f\n";
  const std::string renamed_tree =
      "dir1 100000 644 0:0 size=9 3fc9b689459d738f\n"
      "dir2 40000 700 0:0\n"
      "dir2/f1 100000 644 0:0 size=12 a2ce56fdfbc6033a\n"
      "dir2/f2 100000 644 0:0 size=2 e4ab4e3b1493d5a9\n";
  Layer("top", "base", [&](const std::string& root) {
    MoveDir(root + "/dir1", root + "/dir2", overlay);
    ASSERT_EQ(::rename((root + "/somefiles").c_str(), (root + "/dir1").c_str()), 0);
    Write(root + "/dir2/f1", "f1-overwrite");
    auto tree = testing::DescribeTree(root, {.mtimes = false});
    SNAP_ASSERT_OK(tree.status());
    EXPECT_EQ(*tree, renamed_tree);  // as seen while mounted
  });
  EXPECT_EQ(ViewTree("top"), renamed_tree);
  EXPECT_EQ(ViewTree("base"), base_tree);
  // A layer on top of the renamed one sees the same tree.
  Layer("again", "top", [](const std::string&) {});
  EXPECT_EQ(ViewTree("again"), renamed_tree);
}

// Overwrites the existing file `path` in place (open with O_TRUNC, no new inode), as a program
// editing a file of a lower layer does.
void Overwrite(const std::string& path, const std::string& data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  ASSERT_TRUE(fd) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
}

TEST_P(SnapshotterTest, FileContentAndModeUpdatesAcrossLayers) {
  // containerd's LayerFileupdate: files of a lower layer are rewritten in place and chmod'ed in
  // the layers above; each committed layer shows its own version and leaves the lower ones be.
  Layer("l1", "", [](const std::string& root) {
    SNAP_ASSERT_OK(MakeDirs(root + "/etc", 0755));
    SNAP_ASSERT_OK(MakeDirs(root + "/bin", 0755));
    Write(root + "/etc/hosts", "mydomain 10.0.0.1");
    Write(root + "/etc/profile", "PATH=/usr/bin");
    Write(root + "/bin/run", "#!/bin/sh", 0755);
  });
  Layer("l2", "l1", [](const std::string& root) {
    Overwrite(root + "/etc/hosts", "mydomain 10.0.0.2");           // content only
    ASSERT_EQ(::chmod((root + "/etc/profile").c_str(), 0600), 0);  // mode only
    ASSERT_EQ(::chmod((root + "/bin/run").c_str(), 04755), 0);     // setuid
    Write(root + "/etc/new", "new", 0600);
  });
  Layer("l3", "l2", [](const std::string& root) {
    Overwrite(root + "/etc/hosts", "mydomain 10.0.0.120");  // content and mode
    ASSERT_EQ(::chmod((root + "/etc/hosts").c_str(), 0640), 0);
    Overwrite(root + "/etc/profile", "PATH=/bin");  // keeps l2's mode
    ASSERT_EQ(::chmod((root + "/etc/new").c_str(), 0644), 0);
  });
  EXPECT_EQ(ViewTree("l1"),
            "bin 40000 755 0:0\n"
            "bin/run 100000 755 0:0 size=9 3af71adb278ad4af\n"
            "etc 40000 755 0:0\n"
            "etc/hosts 100000 644 0:0 size=17 083397e540d9224a\n"
            "etc/profile 100000 644 0:0 size=13 d1ca91982b28fe08\n");
  EXPECT_EQ(ViewTree("l2"),
            "bin 40000 755 0:0\n"
            "bin/run 100000 4755 0:0 size=9 3af71adb278ad4af\n"
            "etc 40000 755 0:0\n"
            "etc/hosts 100000 644 0:0 size=17 ae9dae1a126afc77\n"
            "etc/new 100000 600 0:0 size=3 11507a0e2f5e69d5\n"
            "etc/profile 100000 600 0:0 size=13 d1ca91982b28fe08\n");
  const std::string l3 =
      "bin 40000 755 0:0\n"
      "bin/run 100000 4755 0:0 size=9 3af71adb278ad4af\n"
      "etc 40000 755 0:0\n"
      "etc/hosts 100000 640 0:0 size=19 e120d0150143673c\n"
      "etc/new 100000 644 0:0 size=3 11507a0e2f5e69d5\n"
      "etc/profile 100000 600 0:0 size=9 739c2820094af233\n";
  EXPECT_EQ(ViewTree("l3"), l3);
  // An active snapshot on l3 starts from the same tree.
  SNAP_ASSIGN_OR_FAIL(auto mounts, s().Prepare("work", "l3", {}));
  SNAP_ASSIGN_OR_FAIL(MountGuard guard, MountAt(mounts));
  auto tree = testing::DescribeTree(guard.target(), {.mtimes = false});
  SNAP_ASSERT_OK(guard.Release());
  SNAP_ASSERT_OK(tree.status());
  EXPECT_EQ(*tree, l3);
}

TEST_P(SnapshotterTest, RemovingADirectoryOfALowerLayerHidesIt) {
  // containerd's RemoveDirectoryInLowerLayer: a directory of the parent removed in the child is
  // gone from the child's tree (overlayfs: a whiteout), one removed and made again holds only
  // the new entries (overlayfs: an opaque directory), and a layer further up that makes the
  // directory again does not bring the old entries back.
  const bool overlay = GetParam().name == kOverlayfs;
  Layer("l1", "", [](const std::string& root) {
    SNAP_ASSERT_OK(MakeDirs(root + "/lib/sub", 0755));
    Write(root + "/lib/a", "a");
    Write(root + "/lib/sub/b", "b");
    SNAP_ASSERT_OK(MakeDirs(root + "/lib2", 0755));
    Write(root + "/lib2/a", "a");
    Write(root + "/keep", "keep");
  });
  Layer("l2", "l1", [](const std::string& root) {
    SNAP_ASSERT_OK(RemoveAll(root + "/lib"));
    SNAP_ASSERT_OK(RemoveAll(root + "/lib2"));
    ASSERT_EQ(::mkdir((root + "/lib2").c_str(), 0700), 0);
    Write(root + "/lib2/new", "new");
    EXPECT_FALSE(Exists(root + "/lib"));
    EXPECT_FALSE(Exists(root + "/lib2/a"));
  });
  Layer("l3", "l2", [](const std::string& root) {
    ASSERT_EQ(::mkdir((root + "/lib").c_str(), 0750), 0);
    Write(root + "/lib/c", "c");
  });
  EXPECT_EQ(ViewTree("l1"),
            "keep 100000 644 0:0 size=4 6ca7ea2feefc88ec\n"
            "lib 40000 755 0:0\n"
            "lib/a 100000 644 0:0 size=1 ca978112ca1bbdca\n"
            "lib/sub 40000 755 0:0\n"
            "lib/sub/b 100000 644 0:0 size=1 3e23e8160039594a\n"
            "lib2 40000 755 0:0\n"
            "lib2/a 100000 644 0:0 size=1 ca978112ca1bbdca\n");
  EXPECT_EQ(ViewTree("l2"),
            "keep 100000 644 0:0 size=4 6ca7ea2feefc88ec\n"
            "lib2 40000 700 0:0\n"
            "lib2/new 100000 644 0:0 size=3 11507a0e2f5e69d5\n");
  const std::string l3 =
      "keep 100000 644 0:0 size=4 6ca7ea2feefc88ec\n"
      "lib 40000 750 0:0\n"
      "lib/c 100000 644 0:0 size=1 2e7d2c03a9507ae2\n"
      "lib2 40000 700 0:0\n"
      "lib2/new 100000 644 0:0 size=3 11507a0e2f5e69d5\n";
  EXPECT_EQ(ViewTree("l3"), l3);
  Layer("l4", "l3", [](const std::string&) {});
  EXPECT_EQ(ViewTree("l4"), l3);
  if (!overlay) return;
  // What l2 committed, as overlayfs keeps it: a whiteout for lib, an opaque lib2.
  SNAP_ASSIGN_OR_FAIL(auto view, s().View("raw", "l2", {}));
  std::vector<std::string> lowers = OverlayLowerDirs(view[0]);
  ASSERT_EQ(lowers.size(), 2u) << MountToString(view[0]);
  SNAP_ASSIGN_OR_FAIL(std::string raw, testing::DescribeTree(lowers[0], {.mtimes = false}));
  EXPECT_EQ(raw,
            "lib 20000 0 0:0 dev=0,0\n"
            "lib2 40000 700 0:0 trusted.overlay.opaque=y\n"
            "lib2/new 100000 644 0:0 size=3 11507a0e2f5e69d5\n");
}

TEST_P(SnapshotterTest, DirectoryPermissionsSurviveCommit) {
  // containerd's DirectoryPermissionOnCommit: directories keep their mode (special bits too) and
  // owner through commit, and through the copy-up when a child layer writes into them.
  Layer("l1", "", [](const std::string& root) {
    const std::pair<const char*, mode_t> dirs[] = {
        {"/private", 0700}, {"/tmp", 01777}, {"/shared", 02775}, {"/readonly", 0500}};
    for (const auto& [name, mode] : dirs) {
      ASSERT_EQ(::mkdir((root + name).c_str(), 0700), 0) << name;
      ASSERT_EQ(::chmod((root + name).c_str(), mode), 0) << name;
    }
    ASSERT_EQ(::chown((root + "/private").c_str(), 1, 1), 0);
    ASSERT_EQ(::chown((root + "/shared").c_str(), 0, 50), 0);
    ASSERT_EQ(::chmod((root + "/shared").c_str(), 02775), 0);  // after chown, to be sure
    SNAP_ASSERT_OK(MakeDirs(root + "/nested/deeper", 0755));
    ASSERT_EQ(::chmod((root + "/nested/deeper").c_str(), 0711), 0);
    ASSERT_EQ(::chown((root + "/nested").c_str(), 1000, 1000), 0);
  });
  const std::string l1 =
      "nested 40000 755 1000:1000\n"
      "nested/deeper 40000 711 0:0\n"
      "private 40000 700 1:1\n"
      "readonly 40000 500 0:0\n"
      "shared 40000 2775 0:50\n"
      "tmp 40000 1777 0:0\n";
  EXPECT_EQ(ViewTree("l1"), l1);
  Layer("l2", "l1", [](const std::string& root) {
    for (const char* dir : {"/private", "/tmp", "/shared", "/readonly", "/nested/deeper"}) {
      Write(root + dir + "/f", "x");
    }
    ASSERT_EQ(::mkdir((root + "/shared/sub").c_str(), 0755), 0);  // inherits setgid and gid
  });
  EXPECT_EQ(ViewTree("l2"),
            "nested 40000 755 1000:1000\n"
            "nested/deeper 40000 711 0:0\n"
            "nested/deeper/f 100000 644 0:0 size=1 2d711642b726b044\n"
            "private 40000 700 1:1\n"
            "private/f 100000 644 0:0 size=1 2d711642b726b044\n"
            "readonly 40000 500 0:0\n"
            "readonly/f 100000 644 0:0 size=1 2d711642b726b044\n"
            "shared 40000 2775 0:50\n"
            "shared/f 100000 644 0:50 size=1 2d711642b726b044\n"
            "shared/sub 40000 2755 0:50\n"
            "tmp 40000 1777 0:0\n"
            "tmp/f 100000 644 0:0 size=1 2d711642b726b044\n");
  EXPECT_EQ(ViewTree("l1"), l1);
}

TEST_P(SnapshotterTest, ChownOfALowerFileInAnUpperLayer) {
  // containerd's Chown: a child layer changes the owner of files of its parent (overlayfs copies
  // them up). The child shows the new owners with the content, mode and xattrs of the parent's
  // files; chown clears setuid/setgid of a regular file as it does anywhere; the parent keeps
  // the old owners.
  Layer("l1", "", [](const std::string& root) {
    Write(root + "/file", "x");
    ASSERT_EQ(::setxattr((root + "/file").c_str(), "user.note", "kept", 4, 0), 0);
    Write(root + "/suid", "x", 0755);
    ASSERT_EQ(::chmod((root + "/suid").c_str(), 06755), 0);
    SNAP_ASSERT_OK(MakeDirs(root + "/dir", 0750));
    Write(root + "/dir/inner", "x");
    ASSERT_EQ(::chown((root + "/dir/inner").c_str(), 1000, 1000), 0);
    ASSERT_EQ(::symlink("file", (root + "/link").c_str()), 0);
  });
  const std::string l1 =
      "dir 40000 750 0:0\n"
      "dir/inner 100000 644 1000:1000 size=1 2d711642b726b044\n"
      "file 100000 644 0:0 size=1 2d711642b726b044 user.note=kept\n"
      "link 120000 777 0:0 -> file\n"
      "suid 100000 6755 0:0 size=1 2d711642b726b044\n";
  Layer("l2", "l1", [](const std::string& root) {
    ASSERT_EQ(::chown((root + "/file").c_str(), 1001, 1002), 0);
    ASSERT_EQ(::chown((root + "/suid").c_str(), 2, 2), 0);
    ASSERT_EQ(::chown((root + "/dir").c_str(), 5, 6), 0);  // the directory only
    ASSERT_EQ(::lchown((root + "/link").c_str(), 7, 8), 0);
  });
  const std::string l2 =
      "dir 40000 750 5:6\n"
      "dir/inner 100000 644 1000:1000 size=1 2d711642b726b044\n"
      "file 100000 644 1001:1002 size=1 2d711642b726b044 user.note=kept\n"
      "link 120000 777 7:8 -> file\n"
      "suid 100000 755 2:2 size=1 2d711642b726b044\n";
  EXPECT_EQ(ViewTree("l2"), l2);
  EXPECT_EQ(ViewTree("l1"), l1);
  // And once more on top of the copy: back to root.
  Layer("l3", "l2",
        [](const std::string& root) { ASSERT_EQ(::chown((root + "/file").c_str(), 0, 0), 0); });
  std::string l3 = l2;
  l3.replace(l3.find("file 100000 644 1001:1002"), 25, "file 100000 644 0:0");
  EXPECT_EQ(ViewTree("l3"), l3);
}

INSTANTIATE_TEST_SUITE_P(Backends, SnapshotterTest,
                         ::testing::Values(Backend{"overlayfs", false}, Backend{"native", false},
                                           Backend{"overlayfs", true}, Backend{"native", true}),
                         [](const auto& info) {
                           return info.param.name + (info.param.ipc ? "OverIpc" : "Direct");
                         });

}  // namespace
}  // namespace berth::snapshot
