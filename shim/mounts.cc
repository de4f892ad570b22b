#include "shim/mounts.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <string_view>

#include "common/fs.h"

namespace berth::shim {
namespace {

struct Flag {
  std::string_view name;
  bool clear;
  unsigned long value;
};

constexpr Flag kFlags[] = {
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"defaults", false, 0},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

struct Propagation {
  std::string_view name;
  unsigned long value;
};

constexpr Propagation kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

bool IsMountPoint(const std::string& path) {
  struct stat self, parent;
  if (::lstat(path.c_str(), &self) != 0) return false;
  if (::lstat((path + "/..").c_str(), &parent) != 0) return false;
  if (self.st_dev != parent.st_dev) return true;
  // A bind mount of a directory on the same filesystem: ask the mount table.
  auto info = ReadFile("/proc/self/mountinfo");
  if (!info.ok()) return false;
  std::string needle = " " + path + " ";
  return info->find(needle) != std::string::npos;
}

Status MountOne(const MountSpec& m, const std::string& target) {
  MountOptions opts = ParseMountOptions(m.options);
  bool bind = (opts.flags & MS_BIND) != 0 || m.type == "bind" || m.type == "rbind";
  if (m.type == "bind" && !(opts.flags & MS_BIND)) opts.flags |= MS_BIND;
  if (m.type == "rbind") opts.flags |= MS_BIND | MS_REC;
  const char* type = bind ? nullptr : m.type.c_str();
  if (::mount(m.source.c_str(), target.c_str(), type, opts.flags,
              opts.data.empty() ? nullptr : opts.data.c_str()) != 0) {
    return ErrnoStatus(errno, "mount " + m.type + " " + m.source + " on " + target);
  }
  if (bind && (opts.flags & MS_RDONLY)) {
    unsigned long remount = MS_REMOUNT | MS_BIND | (opts.flags & ~(MS_REC | MS_REMOUNT));
    if (::mount("", target.c_str(), nullptr, remount, nullptr) != 0) {
      int err = errno;
      ::umount2(target.c_str(), MNT_DETACH);
      return ErrnoStatus(err, "remount read-only " + target);
    }
  }
  if (opts.propagation != 0 &&
      ::mount("", target.c_str(), nullptr, opts.propagation, nullptr) != 0) {
    int err = errno;
    ::umount2(target.c_str(), MNT_DETACH);
    return ErrnoStatus(err, "set propagation of " + target);
  }
  return Status::Ok();
}

}  // namespace

MountOptions ParseMountOptions(const std::vector<std::string>& options) {
  MountOptions out;
  for (const auto& option : options) {
    bool handled = false;
    for (const Flag& f : kFlags) {
      if (option == f.name) {
        out.flags = f.clear ? (out.flags & ~f.value) : (out.flags | f.value);
        handled = true;
        break;
      }
    }
    for (const Propagation& p : kPropagation) {
      if (!handled && option == p.name) {
        out.propagation |= p.value;
        handled = true;
      }
    }
    if (handled) continue;
    if (!out.data.empty()) out.data += ',';
    out.data += option;
  }
  return out;
}

Status MountAll(const std::vector<MountSpec>& mounts, const std::string& target) {
  if (mounts.empty()) return Status::Ok();
  BERTH_RETURN_IF_ERROR(MakeDirs(target, 0711));
  for (size_t i = 0; i < mounts.size(); ++i) {
    Status s = MountOne(mounts[i], target);
    if (!s.ok()) {
      for (size_t j = 0; j < i; ++j) ::umount2(target.c_str(), MNT_DETACH);
      return s;
    }
  }
  return Status::Ok();
}

Status UnmountAll(const std::string& target) {
  for (int i = 0; i < 64; ++i) {
    if (::umount2(target.c_str(), MNT_DETACH) == 0) continue;
    int err = errno;
    if (err == EINVAL || err == ENOENT) return Status::Ok();  // not (or no longer) mounted
    return ErrnoStatus(err, "unmount " + target);
  }
  if (IsMountPoint(target)) return Error(Code::kInternal, "{} is still mounted", target);
  return Status::Ok();
}

}  // namespace berth::shim
