#include "services/snapshot/mount.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/unique_fd.h"

namespace berth::snapshot {
namespace {

constexpr size_t kPageLimit = 4095;  // mount(2) copies one page of options, NUL included

struct ParsedOptions {
  unsigned long flags = 0;
  bool read_only = false;
  std::vector<std::string> data;  // filesystem-specific options
};

ParsedOptions ParseOptions(const std::vector<std::string>& options) {
  struct Flag {
    const char* name;
    bool clear;
    unsigned long flag;
  };
  static const Flag kFlags[] = {
      {"ro", false, MS_RDONLY},       {"rw", true, MS_RDONLY},
      {"bind", false, MS_BIND},       {"rbind", false, MS_BIND | MS_REC},
      {"nosuid", false, MS_NOSUID},   {"suid", true, MS_NOSUID},
      {"nodev", false, MS_NODEV},     {"dev", true, MS_NODEV},
      {"noexec", false, MS_NOEXEC},   {"exec", true, MS_NOEXEC},
      {"noatime", false, MS_NOATIME}, {"relatime", false, MS_RELATIME},
  };
  ParsedOptions parsed;
  for (const std::string& option : options) {
    bool known = false;
    for (const Flag& f : kFlags) {
      if (option == f.name) {
        parsed.flags = f.clear ? (parsed.flags & ~f.flag) : (parsed.flags | f.flag);
        known = true;
        break;
      }
    }
    if (!known) parsed.data.push_back(option);
  }
  parsed.read_only = parsed.flags & MS_RDONLY;
  return parsed;
}

std::string JoinData(const std::vector<std::string>& data) {
  return fmt::format("{}", fmt::join(data, ","));
}

Status MountBind(const Mount& m, const std::string& target, const ParsedOptions& parsed) {
  unsigned long flags = parsed.flags & ~MS_RDONLY;
  if (::mount(m.source.c_str(), target.c_str(), nullptr, flags, nullptr) != 0) {
    return ErrnoStatus(errno, fmt::format("bind mount {} on {}", m.source, target));
  }
  if (parsed.read_only) {
    unsigned long remount =
        MS_BIND | MS_REMOUNT | MS_RDONLY | (parsed.flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC));
    if (::mount(nullptr, target.c_str(), nullptr, remount, nullptr) != 0) {
      int err = errno;
      ::umount2(target.c_str(), MNT_DETACH);
      return ErrnoStatus(err, fmt::format("remount {} read-only", target));
    }
  }
  return Status::Ok();
}

// The new mount API: one fsconfig call per option, so no page limit on the whole.
Status MountWithFsconfig(const Mount& m, const std::string& target, const ParsedOptions& parsed) {
  UniqueFd fs(::fsopen(m.type.c_str(), FSOPEN_CLOEXEC));
  if (!fs) return ErrnoStatus(errno, fmt::format("fsopen {}", m.type));
  auto set = [&](const std::string& key, const std::string* value) -> Status {
    int rc = value ? ::fsconfig(fs.get(), FSCONFIG_SET_STRING, key.c_str(), value->c_str(), 0)
                   : ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, key.c_str(), nullptr, 0);
    if (rc != 0) return ErrnoStatus(errno, fmt::format("fsconfig {} {}", m.type, key));
    return Status::Ok();
  };
  BERTH_RETURN_IF_ERROR(set("source", &m.source));
  for (const std::string& option : parsed.data) {
    size_t eq = option.find('=');
    if (eq == std::string::npos) {
      BERTH_RETURN_IF_ERROR(set(option, nullptr));
      continue;
    }
    std::string key = option.substr(0, eq);
    std::string value = option.substr(eq + 1);
    if (key == "lowerdir") {
      size_t start = 0;
      while (start <= value.size()) {
        size_t end = value.find(':', start);
        if (end == std::string::npos) end = value.size();
        std::string dir = value.substr(start, end - start);
        BERTH_RETURN_IF_ERROR(set("lowerdir+", &dir));
        start = end + 1;
      }
      continue;
    }
    BERTH_RETURN_IF_ERROR(set(key, &value));
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return ErrnoStatus(errno, fmt::format("create {} filesystem", m.type));
  }
  unsigned int attrs = parsed.read_only ? MOUNT_ATTR_RDONLY : 0;
  if (parsed.flags & MS_NOSUID) attrs |= MOUNT_ATTR_NOSUID;
  if (parsed.flags & MS_NODEV) attrs |= MOUNT_ATTR_NODEV;
  if (parsed.flags & MS_NOEXEC) attrs |= MOUNT_ATTR_NOEXEC;
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, attrs));
  if (!mnt) return ErrnoStatus(errno, fmt::format("fsmount {}", m.type));
  if (::move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return ErrnoStatus(errno, fmt::format("move_mount {} to {}", m.type, target));
  }
  return Status::Ok();
}

// Old kernels: lowerdirs relative to their common parent, mounted from a thread whose working
// directory is that parent (unshare(CLONE_FS) keeps the chdir away from the other threads).
Status MountRelative(const Mount& m, const std::string& target, const ParsedOptions& parsed) {
  std::vector<std::string> lowers = OverlayLowerDirs(m);
  if (lowers.empty()) return Status(Code::kInvalidArgument, "overlay options too long");
  std::string common = lowers[0].substr(0, lowers[0].rfind('/') + 1);
  for (const std::string& dir : lowers) {
    while (!common.empty() && dir.compare(0, common.size(), common) != 0) {
      common.pop_back();
      common = common.substr(0, common.rfind('/') + 1);
    }
  }
  if (common.size() <= 1) return Status(Code::kInvalidArgument, "overlay options too long");
  std::vector<std::string> data;
  std::string relative = "lowerdir=";
  for (size_t i = 0; i < lowers.size(); ++i) {
    relative += (i ? ":" : "") + lowers[i].substr(common.size());
  }
  for (const std::string& option : parsed.data) {
    data.push_back(option.rfind("lowerdir=", 0) == 0 ? relative : option);
  }
  std::string joined = JoinData(data);
  if (joined.size() > kPageLimit) {
    return Error(Code::kInvalidArgument, "overlay options are {} bytes even with relative paths",
                 joined.size());
  }
  Status status;
  std::thread helper([&] {
    if (::unshare(CLONE_FS) != 0 || ::chdir(common.c_str()) != 0) {
      status = ErrnoStatus(errno, "chdir " + common);
      return;
    }
    if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), parsed.flags, joined.c_str())) {
      status = ErrnoStatus(errno, fmt::format("mount overlay on {}", target));
    }
  });
  helper.join();
  return status;
}

Status MountOne(const Mount& m, const std::string& target) {
  ParsedOptions parsed = ParseOptions(m.options);
  if (m.type == "bind" || (parsed.flags & MS_BIND)) return MountBind(m, target, parsed);
  std::string data = JoinData(parsed.data);
  if (data.size() <= kPageLimit) {
    if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), parsed.flags, data.c_str())) {
      return ErrnoStatus(errno, fmt::format("mount {} on {}", m.type, target));
    }
    return Status::Ok();
  }
  Status status = MountWithFsconfig(m, target, parsed);
  if (status.ok() || m.type != "overlay") return status;
  Status relative = MountRelative(m, target, parsed);
  return relative.ok() ? relative : status;
}

}  // namespace

Status MountOverlayRelative(const Mount& mount, const std::string& target) {
  if (mount.type != "overlay") {
    return Error(Code::kInvalidArgument, "relative lowerdirs need an overlay mount, not {}",
                 mount.type);
  }
  return MountRelative(mount, target, ParseOptions(mount.options));
}

std::string MountToString(const Mount& mount) {
  return fmt::format("{} {}{}{} [{}]", mount.type, mount.source, mount.target.empty() ? "" : " -> ",
                     mount.target, fmt::join(mount.options, ","));
}

std::optional<std::string> MountOption(const Mount& mount, std::string_view key) {
  for (const std::string& option : mount.options) {
    if (option.size() > key.size() && option.compare(0, key.size(), key) == 0 &&
        option[key.size()] == '=') {
      return option.substr(key.size() + 1);
    }
  }
  return std::nullopt;
}

std::vector<std::string> OverlayLowerDirs(const Mount& mount) {
  std::vector<std::string> dirs;
  auto value = MountOption(mount, "lowerdir");
  if (!value) return dirs;
  size_t start = 0;
  while (start < value->size()) {
    size_t end = value->find(':', start);
    if (end == std::string::npos) end = value->size();
    if (end > start) dirs.push_back(value->substr(start, end - start));
    start = end + 1;
  }
  return dirs;
}

Status MountAll(const std::vector<Mount>& mounts, const std::string& target) {
  for (size_t i = 0; i < mounts.size(); ++i) {
    const Mount& m = mounts[i];
    std::string where = m.target.empty() ? target : target + "/" + m.target;
    Status status = MountOne(m, where);
    if (!status.ok()) {
      for (size_t j = i; j-- > 0;) {
        std::string prev = mounts[j].target.empty() ? target : target + "/" + mounts[j].target;
        ::umount2(prev.c_str(), MNT_DETACH);
      }
      return status;
    }
  }
  return Status::Ok();
}

Status Unmount(const std::string& target, bool detach) {
  for (int attempt = 0;; ++attempt) {
    if (::umount2(target.c_str(), detach ? MNT_DETACH : 0) == 0) return Status::Ok();
    if (errno == EBUSY && attempt < 50) {
      ::usleep(10000);
      continue;
    }
    return ErrnoStatus(errno, "unmount " + target);
  }
}

Result<MountGuard> MountGuard::Create(const std::vector<Mount>& mounts, const std::string& target) {
  for (const Mount& m : mounts) {
    if (!m.target.empty()) {
      return Status(Code::kInvalidArgument, "MountGuard does not handle mounts with a target");
    }
  }
  BERTH_RETURN_IF_ERROR(MountAll(mounts, target));
  return MountGuard(target, static_cast<int>(mounts.size()));
}

MountGuard::MountGuard(MountGuard&& other) noexcept
    : target_(std::move(other.target_)), count_(std::exchange(other.count_, 0)) {}

MountGuard& MountGuard::operator=(MountGuard&& other) noexcept {
  if (this != &other) {
    for (; count_ > 0; --count_) ::umount2(target_.c_str(), MNT_DETACH);
    target_ = std::move(other.target_);
    count_ = std::exchange(other.count_, 0);
  }
  return *this;
}

MountGuard::~MountGuard() {
  for (; count_ > 0; --count_) ::umount2(target_.c_str(), MNT_DETACH);
}

Status MountGuard::Release() {
  Status result;
  for (; count_ > 0; --count_) {
    Status status = Unmount(target_);
    if (!status.ok() && result.ok()) result = status;
  }
  return result;
}

}  // namespace berth::snapshot
