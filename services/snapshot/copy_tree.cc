#include "services/snapshot/copy_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "common/fs.h"
#include "services/snapshot/fs_util.h"

namespace berth::snapshot {
namespace {

using InodeKey = std::pair<dev_t, ino_t>;

struct CopyState {
  int dst_root = -1;
  // Inodes with several links already copied: source inode -> path relative to dst_root.
  std::map<InodeKey, std::string> links;
};

Status CopyData(int in, int out, off_t size) {
  off_t done = 0;
  bool kernel_copy = true;
  std::string buffer;
  while (done < size) {
    if (kernel_copy) {
      ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, size - done, 0);
      if (n > 0) {
        done += n;
        continue;
      }
      if (n == 0) break;
      if (errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP && errno != EINVAL) {
        return ErrnoStatus(errno, "copy_file_range");
      }
      kernel_copy = false;
      buffer.resize(1 << 20);
    }
    ssize_t n = ::pread(in, buffer.data(), buffer.size(), done);
    if (n < 0) return ErrnoStatus(errno, "read");
    if (n == 0) break;
    BERTH_RETURN_IF_ERROR(WriteAll(out, std::string_view(buffer.data(), n), "copy"));
    done += n;
  }
  return Status::Ok();
}

// Owner, mode, xattrs and times of (dst_dir, name) from `st` and the source entry.
Status CopyMetadata(int src_dir, int dst_dir, const std::string& name, const struct stat& st) {
  if (::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "chown " + name);
  }
  if (!S_ISLNK(st.st_mode) &&
      ::fchmodat(dst_dir, name.c_str(), st.st_mode & 07777, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "chmod " + name);
  }
  BERTH_ASSIGN_OR_RETURN(auto xattrs, ReadXattrs(src_dir, name));
  for (const auto& [key, value] : xattrs) {
    BERTH_RETURN_IF_ERROR(SetXattr(dst_dir, name, key, value));
  }
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(dst_dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "set times of " + name);
  }
  return Status::Ok();
}

Status CopyDir(CopyState& state, int src, int dst, const std::string& rel);

Status CopyEntry(CopyState& state, int src, int dst, const std::string& name,
                 const std::string& rel) {
  BERTH_ASSIGN_OR_RETURN(struct stat st, StatAt(src, name));
  std::string path = rel.empty() ? name : rel + "/" + name;
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    auto [it, inserted] = state.links.try_emplace(InodeKey(st.st_dev, st.st_ino), path);
    if (!inserted) {
      if (::linkat(state.dst_root, it->second.c_str(), dst, name.c_str(), 0) != 0) {
        return ErrnoStatus(errno, "link " + path);
      }
      return Status::Ok();
    }
  }
  if (S_ISDIR(st.st_mode)) {
    if (::mkdirat(dst, name.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir " + path);
    BERTH_ASSIGN_OR_RETURN(UniqueFd src_child, OpenDirAt(src, name));
    BERTH_ASSIGN_OR_RETURN(UniqueFd dst_child, OpenDirAt(dst, name));
    BERTH_RETURN_IF_ERROR(CopyDir(state, src_child.get(), dst_child.get(), path));
  } else if (S_ISREG(st.st_mode)) {
    UniqueFd in(::openat(src, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) return ErrnoStatus(errno, "open " + path);
    UniqueFd out(
        ::openat(dst, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return ErrnoStatus(errno, "create " + path);
    BERTH_RETURN_IF_ERROR(CopyData(in.get(), out.get(), st.st_size).Annotate(path));
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(st.st_size + 1, '\0');
    ssize_t n = ::readlinkat(src, name.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoStatus(errno, "readlink " + path);
    target.resize(n);
    if (::symlinkat(target.c_str(), dst, name.c_str()) != 0) {
      return ErrnoStatus(errno, "symlink " + path);
    }
  } else {
    if (::mknodat(dst, name.c_str(), st.st_mode & S_IFMT, st.st_rdev) != 0) {
      return ErrnoStatus(errno, "mknod " + path);
    }
  }
  return CopyMetadata(src, dst, name, st);
}

Status CopyDir(CopyState& state, int src, int dst, const std::string& rel) {
  BERTH_ASSIGN_OR_RETURN(auto names, ListDir(src));
  for (const std::string& name : names) {
    BERTH_RETURN_IF_ERROR(CopyEntry(state, src, dst, name, rel));
  }
  return Status::Ok();
}

Status MeasureDir(int dir, std::set<InodeKey>& seen, Usage& usage) {
  BERTH_ASSIGN_OR_RETURN(auto names, ListDir(dir));
  for (const std::string& name : names) {
    BERTH_ASSIGN_OR_RETURN(struct stat st, StatAt(dir, name));
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) &&
        !seen.insert(InodeKey(st.st_dev, st.st_ino)).second) {
      continue;
    }
    usage.size += static_cast<int64_t>(st.st_blocks) * 512;
    usage.inodes += 1;
    if (S_ISDIR(st.st_mode)) {
      BERTH_ASSIGN_OR_RETURN(UniqueFd child, OpenDirAt(dir, name));
      BERTH_RETURN_IF_ERROR(MeasureDir(child.get(), seen, usage));
    }
  }
  return Status::Ok();
}

}  // namespace

Status CopyTree(const std::string& src, const std::string& dst) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd src_fd, OpenDirectory(src, false));
  BERTH_ASSIGN_OR_RETURN(UniqueFd dst_fd, OpenDirectory(dst, false));
  CopyState state;
  state.dst_root = dst_fd.get();
  BERTH_RETURN_IF_ERROR(CopyDir(state, src_fd.get(), dst_fd.get(), ""));
  // The roots' own metadata, through their fds.
  struct stat st;
  if (::fstat(src_fd.get(), &st) != 0) return ErrnoStatus(errno, "stat " + src);
  if (::fchown(dst_fd.get(), st.st_uid, st.st_gid) != 0 ||
      ::fchmod(dst_fd.get(), st.st_mode & 07777) != 0) {
    return ErrnoStatus(errno, "set owner and mode of " + dst);
  }
  BERTH_ASSIGN_OR_RETURN(auto xattrs, ReadXattrs(src_fd.get(), ""));
  for (const auto& [key, value] : xattrs) {
    BERTH_RETURN_IF_ERROR(SetXattr(dst_fd.get(), "", key, value));
  }
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(dst_fd.get(), times) != 0) return ErrnoStatus(errno, "set times of " + dst);
  return Status::Ok();
}

Result<Usage> DiskUsage(const std::string& dir) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenDirectory(dir, false));
  std::set<InodeKey> seen;
  Usage usage;
  BERTH_RETURN_IF_ERROR(MeasureDir(fd.get(), seen, usage));
  return usage;
}

}  // namespace berth::snapshot
