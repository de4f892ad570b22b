#include "services/snapshot/fs_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

namespace berth::snapshot {

std::string FdPath(int dirfd, std::string_view name) {
  if (name.empty()) return fmt::format("/proc/self/fd/{}", dirfd);
  return fmt::format("/proc/self/fd/{}/{}", dirfd, name);
}

Result<UniqueFd> OpenDirAt(int dirfd, const std::string& name) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "open directory " + name);
  return fd;
}

Result<std::vector<std::string>> ListDir(int dirfd) {
  // fdopendir takes ownership: give it a duplicate positioned at the start.
  int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dup < 0) return ErrnoStatus(errno, "open directory");
  DIR* dir = ::fdopendir(dup);
  if (!dir) {
    int err = errno;
    ::close(dup);
    return ErrnoStatus(err, "fdopendir");
  }
  CPtr<DIR, ::closedir> owner(dir);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  if (errno != 0) return ErrnoStatus(errno, "readdir");
  std::sort(names.begin(), names.end());
  return names;
}

Result<Xattrs> ReadXattrs(int dirfd, const std::string& name) {
  // An empty name means the open file itself (f*xattr on the fd).
  std::string path = FdPath(dirfd, name);
  auto list_fn = [&](char* buf, size_t size) {
    return name.empty() ? ::flistxattr(dirfd, buf, size) : ::llistxattr(path.c_str(), buf, size);
  };
  auto get_fn = [&](const char* key, char* buf, size_t size) {
    return name.empty() ? ::fgetxattr(dirfd, key, buf, size)
                        : ::lgetxattr(path.c_str(), key, buf, size);
  };
  Xattrs result;
  std::string list(1024, '\0');
  ssize_t n;
  while ((n = list_fn(list.data(), list.size())) < 0 && errno == ERANGE) {
    list.resize(list.size() * 4);
  }
  if (n < 0) {
    if (errno == ENOTSUP) return result;
    return ErrnoStatus(errno, "list xattrs of " + name);
  }
  list.resize(n);
  for (size_t pos = 0; pos < list.size();) {
    std::string key(list.c_str() + pos);
    pos += key.size() + 1;
    if (key.empty()) continue;
    std::string value(256, '\0');
    ssize_t m;
    while ((m = get_fn(key.c_str(), value.data(), value.size())) < 0 && errno == ERANGE) {
      value.resize(value.size() * 4);
    }
    if (m < 0) {
      if (errno == ENODATA) continue;
      return ErrnoStatus(errno, fmt::format("read xattr {} of {}", key, name));
    }
    value.resize(m);
    result.emplace_back(std::move(key), std::move(value));
  }
  return result;
}

Status SetXattr(int dirfd, const std::string& name, const std::string& key,
                std::string_view value) {
  int rc = name.empty() ? ::fsetxattr(dirfd, key.c_str(), value.data(), value.size(), 0)
                        : ::lsetxattr(FdPath(dirfd, name).c_str(), key.c_str(), value.data(),
                                      value.size(), 0);
  if (rc != 0) {
    return ErrnoStatus(errno, fmt::format("set xattr {} on {}", key, name));
  }
  return Status::Ok();
}

Result<struct stat> StatAt(int dirfd, const std::string& name) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "stat " + name);
  }
  return st;
}

Status RemoveChildren(int dirfd) {
  BERTH_ASSIGN_OR_RETURN(auto names, ListDir(dirfd));
  for (const std::string& name : names) BERTH_RETURN_IF_ERROR(RemoveAt(dirfd, name));
  return Status::Ok();
}

Status RemoveAt(int dirfd, const std::string& name) {
  if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return Status::Ok();
  if (errno != EISDIR) return ErrnoStatus(errno, "remove " + name);
  struct statx stx;
  if (::statx(dirfd, name.c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE, &stx) != 0) {
    return ErrnoStatus(errno, "stat " + name);
  }
  if ((stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
      (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
    return Error(Code::kFailedPrecondition, "cannot remove {}: it is a mount point", name);
  }
  {
    BERTH_ASSIGN_OR_RETURN(UniqueFd child, OpenDirAt(dirfd, name));
    Status status = RemoveChildren(child.get());
    if (!status.ok()) return status.Annotate(name);
  }
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "remove directory " + name);
  }
  return Status::Ok();
}

}  // namespace berth::snapshot
