#include "services/snapshot/tree_diff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>

#include "common/fs.h"

namespace berth::snapshot {
namespace {

using InodeKey = std::pair<dev_t, ino_t>;

class TreeDiff {
 public:
  explicit TreeDiff(LayerWriter& writer) : writer_(writer) {}

  // Compares directory `rel` (already known to exist in upper) whose fds are lower (-1: absent)
  // and upper.
  Status Dir(int lower, int upper, const std::string& rel) {
    BERTH_ASSIGN_OR_RETURN(auto unames, ListDir(upper));
    std::vector<std::string> lnames;
    if (lower >= 0) {
      BERTH_ASSIGN_OR_RETURN(lnames, ListDir(lower));
    }
    size_t i = 0, j = 0;
    while (i < unames.size() || j < lnames.size()) {
      int order = i >= unames.size() ? 1 : j >= lnames.size() ? -1 : unames[i].compare(lnames[j]);
      if (order > 0) {  // only in lower
        BERTH_RETURN_IF_ERROR(writer_.AddWhiteout(Join(rel, lnames[j++])));
        ++stats_.whiteouts;
        continue;
      }
      const std::string& name = unames[i++];
      int lower_dir = -1;
      if (order == 0) {
        ++j;
        lower_dir = lower;
      }
      BERTH_RETURN_IF_ERROR(Entry(lower_dir, upper, name, Join(rel, name)));
    }
    return Status::Ok();
  }

  const TreeDiffStats& stats() const { return stats_; }

 private:
  static std::string Join(const std::string& rel, const std::string& name) {
    return rel.empty() ? name : rel + "/" + name;
  }

  Status Entry(int lower, int upper, const std::string& name, const std::string& path) {
    BERTH_ASSIGN_OR_RETURN(struct stat ust, StatAt(upper, name));
    BERTH_ASSIGN_OR_RETURN(auto uxattrs, ReadXattrs(upper, name));
    std::string ulink;
    if (S_ISLNK(ust.st_mode)) {
      BERTH_ASSIGN_OR_RETURN(ulink, ReadLink(upper, name, ust));
    }
    bool changed = true;
    bool lower_is_dir = false;
    if (lower >= 0) {
      BERTH_ASSIGN_OR_RETURN(struct stat lst, StatAt(lower, name));
      lower_is_dir = S_ISDIR(lst.st_mode);
      BERTH_ASSIGN_OR_RETURN(changed, Differs(lower, upper, name, lst, ust, uxattrs, ulink));
    }
    if (changed) BERTH_RETURN_IF_ERROR(Emit(upper, name, path, ust, uxattrs, ulink));
    if (!S_ISDIR(ust.st_mode)) return Status::Ok();
    BERTH_ASSIGN_OR_RETURN(UniqueFd udir, OpenDirAt(upper, name));
    UniqueFd ldir;
    if (lower_is_dir) {
      BERTH_ASSIGN_OR_RETURN(ldir, OpenDirAt(lower, name));
    }
    return Dir(ldir ? ldir.get() : -1, udir.get(), path);
  }

  static Result<std::string> ReadLink(int dir, const std::string& name, const struct stat& st) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoStatus(errno, "readlink " + name);
    target.resize(n);
    return target;
  }

  Result<bool> Differs(int lower, int upper, const std::string& name, const struct stat& l,
                       const struct stat& u, const Xattrs& uxattrs, const std::string& ulink) {
    if ((l.st_mode & S_IFMT) != (u.st_mode & S_IFMT) || l.st_mode != u.st_mode ||
        l.st_uid != u.st_uid || l.st_gid != u.st_gid || l.st_rdev != u.st_rdev) {
      return true;
    }
    if (!S_ISDIR(u.st_mode) && l.st_size != u.st_size) return true;
    if (l.st_mtim.tv_sec != u.st_mtim.tv_sec || l.st_mtim.tv_nsec != u.st_mtim.tv_nsec) {
      return true;
    }
    BERTH_ASSIGN_OR_RETURN(auto lxattrs, ReadXattrs(lower, name));
    auto sorted = [](Xattrs x) {
      std::sort(x.begin(), x.end());
      return x;
    };
    if (sorted(lxattrs) != sorted(uxattrs)) return true;
    if (S_ISLNK(u.st_mode)) {
      BERTH_ASSIGN_OR_RETURN(std::string llink, ReadLink(lower, name, l));
      return llink != ulink;
    }
    if (S_ISREG(u.st_mode) && u.st_mtim.tv_nsec == 0) return ContentDiffers(lower, upper, name);
    return false;
  }

  Result<bool> ContentDiffers(int lower, int upper, const std::string& name) {
    UniqueFd a(::openat(lower, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd b(::openat(upper, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!a || !b) return ErrnoStatus(errno, "open " + name);
    std::string x(1 << 16, '\0'), y(1 << 16, '\0');
    for (;;) {
      ssize_t n = ::read(a.get(), x.data(), x.size());
      ssize_t m = ::read(b.get(), y.data(), y.size());
      if (n < 0 || m < 0) return ErrnoStatus(errno, "read " + name);
      if (n != m || std::memcmp(x.data(), y.data(), n) != 0) return true;
      if (n == 0) return false;
    }
  }

  Status Emit(int upper, const std::string& name, const std::string& path, const struct stat& st,
              const Xattrs& xattrs, const std::string& link) {
    ++stats_.added_or_changed;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, first] = links_.try_emplace(InodeKey(st.st_dev, st.st_ino), path);
      if (!first) return writer_.Add(path, st, {}, it->second, true, -1);
    }
    if (!S_ISREG(st.st_mode)) return writer_.Add(path, st, xattrs, link, false, -1);
    UniqueFd fd(::openat(upper, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return ErrnoStatus(errno, "open " + path);
    return writer_.Add(path, st, xattrs, "", false, fd.get());
  }

  LayerWriter& writer_;
  TreeDiffStats stats_;
  std::map<InodeKey, std::string> links_;  // first path written for each multi-link inode
};

}  // namespace

Result<TreeDiffStats> WriteTreeDiff(const std::string& lower, const std::string& upper,
                                    LayerWriter& writer) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd upper_fd, OpenDirectory(upper, false));
  UniqueFd lower_fd;
  if (!lower.empty()) {
    BERTH_ASSIGN_OR_RETURN(lower_fd, OpenDirectory(lower, false));
  }
  TreeDiff diff(writer);
  BERTH_RETURN_IF_ERROR(diff.Dir(lower_fd ? lower_fd.get() : -1, upper_fd.get(), ""));
  return diff.stats();
}

}  // namespace berth::snapshot
