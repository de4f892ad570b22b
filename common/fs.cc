#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace berth {
namespace {

std::string Dirname(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Identifies the mount a file lives on: the mount id where the kernel reports it (so bind mounts
// of the same file system differ too), plus the device.
struct MountKey {
  uint64_t mnt_id = 0;
  uint64_t dev = 0;
  bool operator==(const MountKey&) const = default;
};

Result<MountKey> MountOf(int dirfd, const char* name, int flags, const std::string& what) {
  struct statx stx = {};
  if (::statx(dirfd, name, flags, STATX_TYPE | STATX_MNT_ID, &stx) != 0) {
    return ErrnoStatus(errno, "stat " + what);
  }
  MountKey key;
  if (stx.stx_mask & STATX_MNT_ID) key.mnt_id = stx.stx_mnt_id;
  key.dev = (uint64_t{stx.stx_dev_major} << 32) | stx.stx_dev_minor;
  return key;
}

Status CheckSameMount(int fd, const MountKey& expected, const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(MountKey key, MountOf(fd, "", AT_EMPTY_PATH, path));
  if (key == expected) return Status::Ok();
  return Error(Code::kFailedPrecondition,
               "refusing to remove {}: it is a mount point (unmount it first)", path);
}

using Dir = CPtr<DIR, closedir>;

// Removes everything inside the directory open at `fd` (which this function does not close).
Status RemoveContents(int fd, const std::string& path, const MountKey& mount) {
  int dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return ErrnoStatus(errno, "dup " + path);
  Dir dir(::fdopendir(dup_fd));
  if (!dir) {
    int err = errno;
    ::close(dup_fd);
    return ErrnoStatus(err, "opendir " + path);
  }
  for (;;) {
    errno = 0;
    struct dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) {
      if (errno != 0) return ErrnoStatus(errno, "readdir " + path);
      return Status::Ok();
    }
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string child = path + "/" + entry->d_name;
    bool is_dir = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat st;
      if (::fstatat(fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        return ErrnoStatus(errno, "stat " + child);
      }
      is_dir = S_ISDIR(st.st_mode);
    }
    if (!is_dir) {
      if (::unlinkat(fd, entry->d_name, 0) != 0 && errno != ENOENT) {
        return ErrnoStatus(errno, "unlink " + child);
      }
      continue;
    }
    UniqueFd sub(::openat(fd, entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) {
      if (errno == ENOENT) continue;
      return ErrnoStatus(errno, "open " + child);
    }
    BERTH_RETURN_IF_ERROR(CheckSameMount(sub.get(), mount, child));
    BERTH_RETURN_IF_ERROR(RemoveContents(sub.get(), child, mount));
    sub.reset();
    if (::unlinkat(fd, entry->d_name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "rmdir " + child);
    }
  }
}

}  // namespace

Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return Error(Code::kInvalidArgument, "mkdir: empty path");
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (prefix.empty() || prefix.back() == '/') continue;  // "//" in the path
    if (::mkdir(prefix.c_str(), mode) == 0) {
      if (::chmod(prefix.c_str(), mode) != 0) return ErrnoStatus(errno, "chmod " + prefix);
      continue;
    }
    int err = errno;
    struct stat st;
    if (err == EEXIST && ::stat(prefix.c_str(), &st) == 0) {
      if (S_ISDIR(st.st_mode)) continue;
      err = ENOTDIR;
    }
    return ErrnoStatus(err, "mkdir " + prefix);
  }
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string dir = Dirname(path);
  std::string base = path.substr(path.find_last_of('/') + 1);
  if (base.empty()) return Error(Code::kInvalidArgument, "write {}: not a file name", path);
  std::string tmp = (dir == "/" ? "" : dir) + "/." + base + ".tmp-XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "create temporary file in " + dir);
  Status status = [&]() -> Status {
    if (::fchmod(fd.get(), mode) != 0) return ErrnoStatus(errno, "chmod " + tmp);
    BERTH_RETURN_IF_ERROR(WriteAll(fd.get(), data, tmp));
    if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync " + tmp);
    if (::close(fd.release()) != 0) return ErrnoStatus(errno, "close " + tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus(errno, "rename to " + path);
    return Status::Ok();
  }();
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  return FsyncDir(dir);
}

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  return ReadAll(fd.get(), path);
}

Status FsyncDir(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenDirectory(path));
  if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync " + path);
  return Status::Ok();
}

Status RemoveAll(const std::string& path_arg) {
  if (path_arg.empty()) return Error(Code::kInvalidArgument, "remove: empty path");
  std::string path = path_arg;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoStatus(errno, "stat " + path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "unlink " + path);
    return Status::Ok();
  }
  std::string parent = Dirname(path);
  BERTH_ASSIGN_OR_RETURN(MountKey mount, MountOf(AT_FDCWD, parent.c_str(), 0, parent));
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoStatus(errno, "open " + path);
  }
  BERTH_RETURN_IF_ERROR(CheckSameMount(fd.get(), mount, path));
  BERTH_RETURN_IF_ERROR(RemoveContents(fd.get(), path, mount));
  fd.reset();
  if (::rmdir(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, "rmdir " + path);
  return Status::Ok();
}

Result<UniqueFd> OpenDirectory(const std::string& path, bool follow_symlinks) {
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow_symlinks ? 0 : O_NOFOLLOW);
  UniqueFd fd(::open(path.c_str(), flags));
  if (!fd) return ErrnoStatus(errno, "open " + path);
  return fd;
}

Status WriteAll(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, fmt::format("write {}", what));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<std::string> ReadAll(int fd, std::string_view what) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, fmt::format("read {}", what));
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace berth
