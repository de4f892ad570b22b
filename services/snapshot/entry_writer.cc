#include "services/snapshot/entry_writer.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "common/fs.h"

namespace berth::snapshot {
namespace {

constexpr size_t kDirCacheSize = 8;
constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kWhiteoutMetaPrefix[] = ".wh..wh.";
constexpr char kOpaqueMarker[] = ".wh..wh..opq";

mode_t ReadUmask() {
  auto status = ReadFile("/proc/self/status");
  if (!status.ok()) return 022;
  size_t pos = status->find("Umask:");
  if (pos == std::string::npos) return 022;
  return static_cast<mode_t>(std::strtoul(status->c_str() + pos + 6, nullptr, 8));
}

std::pair<std::string, std::string> SplitParent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

struct timespec AccessTime(const Entry& entry) {
  return entry.atime.tv_nsec == UTIME_OMIT ? entry.mtime : entry.atime;
}

// openat2 confined to `root`: symlinks resolve as if `root` were "/".
int OpenBeneath(int root, const std::string& path, uint64_t flags) {
  struct open_how how {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
  for (int attempt = 0; attempt < 16; ++attempt) {
    int fd = static_cast<int>(::syscall(SYS_openat2, root, path.c_str(), &how, sizeof(how)));
    if (fd >= 0 || errno != EAGAIN) return fd;
  }
  return -1;
}

Status ResolveError(int err, const std::string& path) {
  switch (err) {
    case ENOENT:
      return Error(Code::kNotFound, "directory {} does not exist", path);
    case ENOTDIR:
      return Error(Code::kInvalidArgument, "{} is not a directory", path);
    case ELOOP:
      return Error(Code::kInvalidArgument, "too many symlinks resolving {}", path);
    case EXDEV:
      return Error(Code::kInvalidArgument, "{} crosses a mount point", path);
    default:
      return ErrnoStatus(err, "resolve " + path);
  }
}

}  // namespace

Result<std::string> NormalizeEntryPath(std::string_view name) {
  if (name.size() > kMaxPathLength) {
    return Error(Code::kInvalidArgument, "entry name is {} bytes, more than the {} allowed",
                 name.size(), kMaxPathLength);
  }
  std::string out;
  out.reserve(name.size());
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t end = name.find('/', pos);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return Error(Code::kInvalidArgument, "entry \"{:.256}\" has a \"..\" component", name);
    }
    if (!out.empty()) out += '/';
    out.append(part);
  }
  return out;
}

EntryWriter::EntryWriter(UniqueFd root, EntryWriterOptions options)
    : root_(std::move(root)), options_(std::move(options)) {
  umask_ = ReadUmask();
  euid_ = ::geteuid();
  egid_ = ::getegid();
}

EntryWriter::~EntryWriter() = default;

Result<std::unique_ptr<EntryWriter>> EntryWriter::Open(const std::string& root,
                                                       EntryWriterOptions options) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenDirectory(root, false));
  std::unique_ptr<EntryWriter> writer(new EntryWriter(std::move(fd), std::move(options)));
  if (writer->options_.whiteouts == WhiteoutMode::kOverlay) {
    for (const std::string& lower : writer->options_.lower_dirs) {
      BERTH_ASSIGN_OR_RETURN(UniqueFd lower_fd, OpenDirectory(lower, false));
      writer->lowers_.push_back(std::move(lower_fd));
    }
  }
  return writer;
}

void EntryWriter::Invalidate() {
  for (auto& [path, fd] : cache_) graveyard_.push_back(std::move(fd));
  cache_.clear();
}

Result<UniqueFd> EntryWriter::OpenInRoot(const std::string& path) {
  UniqueFd fd(OpenBeneath(root_.get(), path, O_RDONLY | O_DIRECTORY));
  if (!fd) {
    resolve_errno_ = errno;
    return ResolveError(resolve_errno_, path);
  }
  return fd;
}

Result<int> EntryWriter::ResolveDir(const std::string& path, bool create) {
  resolve_errno_ = 0;
  if (path.empty()) return root_.get();
  for (auto& [cached, fd] : cache_) {
    if (cached == path) return fd.get();
  }
  auto fd = OpenInRoot(path);
  if (!fd.ok() && fd.status().code() == Code::kNotFound && create) fd = CreateParents(path);
  if (!fd.ok()) return fd.status();
  if (cache_.size() >= kDirCacheSize) {
    graveyard_.push_back(std::move(cache_.front().second));
    cache_.erase(cache_.begin());
  }
  cache_.emplace_back(path, std::move(*fd));
  return cache_.back().second.get();
}

Result<UniqueFd> EntryWriter::CreateParents(const std::string& path) {
  UniqueFd current;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    std::string prefix = path.substr(0, end);
    std::string name = path.substr(pos, end - pos);
    pos = end + 1;
    auto next = OpenInRoot(prefix);
    if (next.ok()) {
      current = std::move(*next);
      continue;
    }
    if (next.status().code() != Code::kNotFound) return next.status();
    int parent = current ? current.get() : root_.get();
    if (::mkdirat(parent, name.c_str(), 0755) != 0) {
      if (errno == EEXIST) {
        return Error(Code::kInvalidArgument,
                     "cannot create directory {}: a dangling symlink "
                     "is in the way",
                     prefix);
      }
      return ErrnoStatus(errno, "mkdir " + prefix);
    }
    BERTH_ASSIGN_OR_RETURN(UniqueFd created, OpenDirAt(parent, name));
    BERTH_RETURN_IF_ERROR(CopyLowerDirMetadata(created.get(), prefix));
    current = std::move(created);
  }
  return current;
}

Status EntryWriter::CopyLowerDirMetadata(int fd, const std::string& path) {
  struct stat st;
  if (options_.whiteouts == WhiteoutMode::kDelete) {
    if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat " + path);
    written_.insert(st.st_ino);
    return Status::Ok();
  }
  for (const UniqueFd& lower : lowers_) {
    UniqueFd dir(OpenBeneath(lower.get(), path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    if (!dir || ::fstat(dir.get(), &st) != 0) continue;
    if (::fchown(fd, st.st_uid, st.st_gid) != 0 || ::fchmod(fd, st.st_mode & 07777) != 0) {
      return ErrnoStatus(errno, "copy owner and mode of " + path);
    }
    Entry times;
    times.mtime = st.st_mtim;
    times.atime = st.st_atim;
    struct stat self;
    if (::fstat(fd, &self) != 0) return ErrnoStatus(errno, "stat " + path);
    Defer(path, self, times);
    return Status::Ok();
  }
  return Status::Ok();
}

Result<bool> EntryWriter::ClearWay(int dirfd, const std::string& name, bool keep_dir) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoStatus(errno, "stat " + name);
  }
  if (S_ISDIR(st.st_mode) && keep_dir) return true;
  Invalidate();
  BERTH_RETURN_IF_ERROR(RemoveAt(dirfd, name));
  return false;
}

void EntryWriter::Defer(const std::string& path, const struct stat& st, const Entry& entry) {
  DeferredTimes times{path, st.st_dev, st.st_ino, {AccessTime(entry), entry.mtime}};
  auto [it, inserted] = deferred_index_.try_emplace(path, deferred_.size());
  if (inserted) {
    deferred_.push_back(std::move(times));
  } else {
    deferred_[it->second] = std::move(times);
  }
}

Status EntryWriter::Write(const Entry& entry, const DataSource& data) {
  graveyard_.clear();
  Status status = WriteEntry(entry, data);
  if (status.ok()) return status;
  return Status(status.code(),
                fmt::format("entry \"{:.512}\": {}", entry.path.empty() ? "." : entry.path,
                            status.message()));
}

Status EntryWriter::WriteEntry(const Entry& entry, const DataSource& data) {
  if (entry.path.empty()) {  // "./": the root's own metadata
    if (entry.type != S_IFDIR || entry.hardlink) {
      return Status(Code::kInvalidArgument, "the root entry must be a directory");
    }
    return WriteDir(AT_FDCWD, "", entry);
  }
  auto [parent, name] = SplitParent(entry.path);
  if (name.rfind(kWhiteoutPrefix, 0) == 0) return WriteWhiteout(entry, parent, name);
  BERTH_ASSIGN_OR_RETURN(int dirfd, ResolveDir(parent, true));
  if (entry.hardlink) return WriteHardlink(dirfd, name, entry);
  switch (entry.type) {
    case S_IFREG:
      return WriteFile(dirfd, name, entry, data);
    case S_IFDIR:
      return WriteDir(dirfd, name, entry);
    case S_IFLNK:
      return WriteSymlink(dirfd, name, entry);
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
      return WriteNode(dirfd, name, entry);
    default:
      return Error(Code::kInvalidArgument, "unsupported entry type {:o}", entry.type);
  }
}

Status EntryWriter::WriteWhiteout(const Entry& entry, const std::string& parent,
                                  const std::string& name) {
  bool overlay = options_.whiteouts == WhiteoutMode::kOverlay;
  // Nothing to hide below a path that does not exist (delete mode) or is not a directory (a
  // layer may white out the children of a directory it replaced with a file).
  auto nothing_below = [&] {
    return resolve_errno_ == ENOTDIR || (!overlay && resolve_errno_ == ENOENT);
  };
  if (name == kOpaqueMarker) {
    auto dirfd = ResolveDir(parent, overlay);
    if (!dirfd.ok() && nothing_below()) return Status::Ok();
    if (!dirfd.ok()) return dirfd.status();
    if (overlay) {
      if (::fsetxattr(*dirfd, "trusted.overlay.opaque", "y", 1, 0) != 0) {
        return ErrnoStatus(errno, "mark directory opaque");
      }
      return Status::Ok();
    }
    BERTH_ASSIGN_OR_RETURN(auto children, ListDir(*dirfd));
    for (const std::string& child : children) {
      struct stat st;
      if (::fstatat(*dirfd, child.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          written_.count(st.st_ino)) {
        continue;
      }
      Invalidate();
      BERTH_RETURN_IF_ERROR(RemoveAt(*dirfd, child));
    }
    return Status::Ok();
  }
  if (name.rfind(kWhiteoutMetaPrefix, 0) == 0) return Status::Ok();  // aufs metadata
  std::string target = name.substr(std::strlen(kWhiteoutPrefix));
  if (target.empty() || target == "." || target == "..") {
    return Error(Code::kInvalidArgument, "invalid whiteout \"{}\"", name);
  }
  auto dirfd = ResolveDir(parent, overlay);
  if (!dirfd.ok() && nothing_below()) return Status::Ok();
  if (!dirfd.ok()) return dirfd.status();
  BERTH_RETURN_IF_ERROR(ClearWay(*dirfd, target, false).status());
  if (!overlay) return Status::Ok();
  if (::mknodat(*dirfd, target.c_str(), S_IFCHR, makedev(0, 0)) != 0) {
    return ErrnoStatus(errno, "create overlay whiteout " + target);
  }
  struct timespec times[2] = {AccessTime(entry), entry.mtime};
  ::utimensat(*dirfd, target.c_str(), times, AT_SYMLINK_NOFOLLOW);
  return Status::Ok();
}

Status EntryWriter::WriteFile(int dirfd, const std::string& name, const Entry& entry,
                              const DataSource& data) {
  if (entry.size < 0 || entry.size > options_.max_file_size) {
    return Error(Code::kResourceExhausted, "file size {} is over the limit of {} bytes", entry.size,
                 options_.max_file_size);
  }
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd fd(::openat(dirfd, name.c_str(), kFlags, entry.mode & 0777));
  if (!fd && errno == EEXIST) {
    BERTH_RETURN_IF_ERROR(ClearWay(dirfd, name, false).status());
    fd.reset(::openat(dirfd, name.c_str(), kFlags, entry.mode & 0777));
  }
  if (!fd) return ErrnoStatus(errno, "create file");
  int64_t position = 0;
  for (;;) {
    const void* block = nullptr;
    size_t size = 0;
    int64_t offset = 0;
    BERTH_ASSIGN_OR_RETURN(bool more, data(&block, &size, &offset));
    if (!more) break;
    if (offset < position || offset + static_cast<int64_t>(size) > options_.max_file_size) {
      return Status(Code::kInvalidArgument, "file data blocks are out of order or too large");
    }
    const char* p = static_cast<const char*>(block);
    while (size > 0) {
      ssize_t n = ::pwrite(fd.get(), p, size, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, "write file");
      }
      p += n;
      size -= n;
      offset += n;
    }
    position = offset;
  }
  if (position < entry.size && ::ftruncate(fd.get(), entry.size) != 0) {
    return ErrnoStatus(errno, "extend sparse file");
  }
  bool chowned = entry.uid != euid_ || entry.gid != egid_;
  if (chowned && ::fchown(fd.get(), entry.uid, entry.gid) != 0) return ErrnoStatus(errno, "chown");
  mode_t created = entry.mode & 0777 & ~umask_;
  if ((chowned || created != (entry.mode & 07777)) && ::fchmod(fd.get(), entry.mode & 07777)) {
    return ErrnoStatus(errno, "chmod");
  }
  for (const auto& [key, value] : entry.xattrs) {
    if (::fsetxattr(fd.get(), key.c_str(), value.data(), value.size(), 0) != 0) {
      return ErrnoStatus(errno, "set xattr " + key);
    }
  }
  struct timespec times[2] = {AccessTime(entry), entry.mtime};
  if (::futimens(fd.get(), times) != 0) return ErrnoStatus(errno, "set times");
  if (options_.whiteouts == WhiteoutMode::kDelete) {
    struct stat st;
    if (::fstat(fd.get(), &st) == 0) written_.insert(st.st_ino);
  }
  return Status::Ok();
}

Status EntryWriter::WriteDir(int dirfd, const std::string& name, const Entry& entry) {
  UniqueFd fd;
  if (name.empty()) {
    fd.reset(::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0));
  } else {
    if (::mkdirat(dirfd, name.c_str(), 0700) != 0) {
      if (errno != EEXIST) return ErrnoStatus(errno, "mkdir");
      BERTH_ASSIGN_OR_RETURN(bool kept, ClearWay(dirfd, name, true));
      if (!kept && ::mkdirat(dirfd, name.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir");
    }
    fd.reset(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  }
  if (!fd) return ErrnoStatus(errno, "open directory");
  if (::fchown(fd.get(), entry.uid, entry.gid) != 0) return ErrnoStatus(errno, "chown");
  if (::fchmod(fd.get(), entry.mode & 07777) != 0) return ErrnoStatus(errno, "chmod");
  for (const auto& [key, value] : entry.xattrs) {
    if (::fsetxattr(fd.get(), key.c_str(), value.data(), value.size(), 0) != 0) {
      return ErrnoStatus(errno, "set xattr " + key);
    }
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat");
  Defer(entry.path, st, entry);
  if (options_.whiteouts == WhiteoutMode::kDelete) written_.insert(st.st_ino);
  return Status::Ok();
}

Status EntryWriter::SetXattrs(int dirfd, const std::string& name, const Entry& entry) {
  for (const auto& [key, value] : entry.xattrs) {
    BERTH_RETURN_IF_ERROR(SetXattr(dirfd, name, key, value));
  }
  struct timespec times[2] = {AccessTime(entry), entry.mtime};
  if (::utimensat(dirfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "set times");
  }
  if (options_.whiteouts == WhiteoutMode::kDelete) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) written_.insert(st.st_ino);
  }
  return Status::Ok();
}

Status EntryWriter::WriteSymlink(int dirfd, const std::string& name, const Entry& entry) {
  if (entry.link.empty()) return Status(Code::kInvalidArgument, "symlink with an empty target");
  if (::symlinkat(entry.link.c_str(), dirfd, name.c_str()) != 0) {
    if (errno != EEXIST) return ErrnoStatus(errno, "symlink");
    BERTH_RETURN_IF_ERROR(ClearWay(dirfd, name, false).status());
    if (::symlinkat(entry.link.c_str(), dirfd, name.c_str()) != 0) {
      return ErrnoStatus(errno, "symlink");
    }
  }
  if ((entry.uid != euid_ || entry.gid != egid_) &&
      ::fchownat(dirfd, name.c_str(), entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "chown symlink");
  }
  return SetXattrs(dirfd, name, entry);
}

Status EntryWriter::WriteHardlink(int dirfd, const std::string& name, const Entry& entry) {
  if (entry.link == entry.path) return Status::Ok();
  if (entry.link.empty()) return Status(Code::kInvalidArgument, "hardlink to the root");
  // Not a structured binding: the lambda below uses the name (clang < 16 cannot capture one).
  std::pair<std::string, std::string> target = SplitParent(entry.link);
  const std::string& target_name = target.second;
  auto target_dir = ResolveDir(target.first, false);
  if (!target_dir.ok()) {
    return Error(Code::kInvalidArgument, "hardlink target \"{:.512}\": {}", entry.link,
                 target_dir.status().message());
  }
  auto link = [&]() -> Status {
    if (::linkat(*target_dir, target_name.c_str(), dirfd, name.c_str(), 0) == 0) {
      return Status::Ok();
    }
    int err = errno;
    if (err == EEXIST) return Status(Code::kAlreadyExists, "exists");
    // A layer that links to nothing or to a directory is broken, not the host.
    Code code = (err == ENOENT || err == EPERM || err == EMLINK) ? Code::kInvalidArgument
                                                                 : CodeFromErrno(err);
    return Error(code, "hardlink to \"{:.512}\": {}", entry.link, std::strerror(err));
  };
  Status status = link();
  if (status.code() == Code::kAlreadyExists) {
    BERTH_RETURN_IF_ERROR(ClearWay(dirfd, name, false).status());
    status = link();
  }
  return status;
}

Status EntryWriter::WriteNode(int dirfd, const std::string& name, const Entry& entry) {
  mode_t mode = entry.type | (entry.mode & 0777);
  dev_t rdev = entry.type == S_IFIFO ? 0 : entry.rdev;
  if (::mknodat(dirfd, name.c_str(), mode, rdev) != 0) {
    if (errno != EEXIST) return ErrnoStatus(errno, "mknod");
    BERTH_RETURN_IF_ERROR(ClearWay(dirfd, name, false).status());
    if (::mknodat(dirfd, name.c_str(), mode, rdev) != 0) return ErrnoStatus(errno, "mknod");
  }
  bool chowned = entry.uid != euid_ || entry.gid != egid_;
  if (chowned && ::fchownat(dirfd, name.c_str(), entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW)) {
    return ErrnoStatus(errno, "chown");
  }
  if ((chowned || (entry.mode & 0777 & ~umask_) != (entry.mode & 07777)) &&
      ::fchmodat(dirfd, name.c_str(), entry.mode & 07777, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "chmod");
  }
  return SetXattrs(dirfd, name, entry);
}

Status EntryWriter::Finish() {
  graveyard_.clear();
  Invalidate();
  graveyard_.clear();
  for (const DeferredTimes& d : deferred_) {
    UniqueFd fd(d.path.empty()
                    ? ::fcntl(root_.get(), F_DUPFD_CLOEXEC, 0)
                    : OpenBeneath(root_.get(), d.path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0 || st.st_dev != d.dev || st.st_ino != d.ino) {
      continue;  // removed or replaced later in the layer: nothing to restore
    }
    if (::futimens(fd.get(), d.times) != 0) return ErrnoStatus(errno, "set times of " + d.path);
  }
  return Status::Ok();
}

}  // namespace berth::snapshot
