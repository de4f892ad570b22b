#include "services/snapshot/drivers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "common/fs.h"
#include "common/temp_dir.h"
#include "services/snapshot/copy_tree.h"

namespace berth::snapshot {
namespace {

bool KernelHasOverlayIndex() {
  static const bool has = std::filesystem::exists("/sys/module/overlay/parameters/index");
  return has;
}

std::string LowerDirOption(const std::vector<std::string>& parents) {
  std::string option = "lowerdir=";
  for (size_t i = 0; i < parents.size(); ++i) option += (i ? ":" : "") + parents[i] + "/fs";
  return option;
}

class OverlayDriver : public SnapshotDriver {
 public:
  Status Populate(const std::string& dir, Kind kind,
                  const std::vector<std::string>& parents) override {
    BERTH_RETURN_IF_ERROR(MakeDirs(dir + "/fs", 0755));
    if (kind == Kind::kActive && !parents.empty()) {
      BERTH_RETURN_IF_ERROR(MakeDirs(dir + "/work", 0711));
    }
    return Status::Ok();
  }

  std::vector<Mount> Mounts(const std::string& dir, Kind kind,
                            const std::vector<std::string>& parents) override {
    bool active = kind == Kind::kActive;
    if (parents.empty()) {
      return {Mount{"bind", dir + "/fs", "", {active ? "rw" : "ro", "rbind"}}};
    }
    if (!active && parents.size() == 1) {
      return {Mount{"bind", parents[0] + "/fs", "", {"ro", "rbind"}}};
    }
    Mount mount{"overlay", "overlay", "", {}};
    if (KernelHasOverlayIndex()) mount.options.push_back("index=off");
    if (active) {
      mount.options.push_back("workdir=" + dir + "/work");
      mount.options.push_back("upperdir=" + dir + "/fs");
    }
    mount.options.push_back(LowerDirOption(parents));
    return {mount};
  }
};

class NativeDriver : public SnapshotDriver {
 public:
  Status Populate(const std::string& dir, Kind kind,
                  const std::vector<std::string>& parents) override {
    BERTH_RETURN_IF_ERROR(MakeDirs(dir + "/fs", 0755));
    if (parents.empty()) return Status::Ok();
    return CopyTree(parents[0] + "/fs", dir + "/fs");
  }

  std::vector<Mount> Mounts(const std::string& dir, Kind kind,
                            const std::vector<std::string>& parents) override {
    return {Mount{"bind", dir + "/fs", "", {kind == Kind::kActive ? "rw" : "ro", "rbind"}}};
  }
};

Status Probe(const std::string& scratch) {
  for (const char* sub : {"l1", "l2", "upper", "work", "merged"}) {
    BERTH_RETURN_IF_ERROR(MakeDirs(scratch + "/" + sub, 0755));
  }
  BERTH_RETURN_IF_ERROR(WriteFileAtomic(scratch + "/l2/gone", "x"));
  Mount mount{"overlay", "overlay", "", {}};
  if (KernelHasOverlayIndex()) mount.options.push_back("index=off");
  mount.options.push_back("workdir=" + scratch + "/work");
  mount.options.push_back("upperdir=" + scratch + "/upper");
  mount.options.push_back("lowerdir=" + scratch + "/l1:" + scratch + "/l2");
  BERTH_ASSIGN_OR_RETURN(MountGuard guard, MountGuard::Create({mount}, scratch + "/merged"));
  // A deletion through the overlay must leave a whiteout (char 0/0) in the upper dir.
  if (::unlink((scratch + "/merged/gone").c_str()) != 0) {
    return ErrnoStatus(errno, "delete through overlay");
  }
  BERTH_RETURN_IF_ERROR(guard.Release());
  struct stat st;
  if (::lstat((scratch + "/upper/gone").c_str(), &st) != 0 || !S_ISCHR(st.st_mode) ||
      st.st_rdev != 0) {
    return Status(Code::kFailedPrecondition, "overlay whiteouts do not work on this filesystem");
  }
  return Status::Ok();
}

}  // namespace

std::unique_ptr<SnapshotDriver> MakeOverlayDriver() { return std::make_unique<OverlayDriver>(); }
std::unique_ptr<SnapshotDriver> MakeNativeDriver() { return std::make_unique<NativeDriver>(); }

Status CheckOverlaySupport(const std::string& dir) {
  BERTH_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  std::string scratch = dir + "/probe";
  (void)RemoveAll(scratch);
  Status status = Probe(scratch);
  Status removed = RemoveAll(scratch);
  if (!status.ok()) {
    return Error(Code::kFailedPrecondition, "overlayfs does not work in {}: {}", dir,
                 status.message());
  }
  return removed;
}

Result<std::unique_ptr<FsSnapshotter>> OpenSnapshotter(const std::string& snapshot_root,
                                                       std::string_view name) {
  std::string dir = fmt::format("{}/{}", snapshot_root, name);
  if (name == kOverlayfs) {
    if (dir.find_first_of(",:") != std::string::npos) {
      return Error(Code::kInvalidArgument, "overlayfs cannot use {}: the path contains ',' or ':'",
                   dir);
    }
    BERTH_RETURN_IF_ERROR(CheckOverlaySupport(dir));
    return FsSnapshotter::Open(dir, MakeOverlayDriver());
  }
  if (name == kNative) return FsSnapshotter::Open(dir, MakeNativeDriver());
  return Error(Code::kInvalidArgument, "unknown snapshotter \"{}\" (overlayfs or native)", name);
}

}  // namespace berth::snapshot
