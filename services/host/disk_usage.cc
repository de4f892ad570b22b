#include "services/host/disk_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include <cerrno>
#include <set>
#include <utility>

namespace berth::service {

namespace {

// nftw offers no user pointer: the walk's state lives in a thread-local (walks do not nest).
struct Walk {
  DiskUsage usage;
  std::set<std::pair<dev_t, ino_t>> linked;  // hard-linked inodes already counted
};
thread_local Walk* current_walk = nullptr;

int Visit(const char*, const struct stat* st, int type, struct FTW*) {
  if (type == FTW_NS) return 0;  // vanished or unreadable: skip
  Walk& walk = *current_walk;
  if (st->st_nlink > 1 && !S_ISDIR(st->st_mode) &&
      !walk.linked.emplace(st->st_dev, st->st_ino).second) {
    return 0;
  }
  walk.usage.bytes += static_cast<uint64_t>(st->st_blocks) * 512;
  walk.usage.inodes++;
  return 0;
}

}  // namespace

Result<DiskUsage> MeasureDiskUsage(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return ErrnoStatus(errno, "disk usage of " + path);
  Walk walk;
  current_walk = &walk;
  int rc = ::nftw(path.c_str(), Visit, 64, FTW_PHYS | FTW_MOUNT);
  current_walk = nullptr;
  if (rc != 0) return ErrnoStatus(errno, "disk usage of " + path);
  return walk.usage;
}

std::vector<std::string> SubDirectories(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    struct stat st {};
    if (name == "." || name == ".." || ::lstat((dir + "/" + name).c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) out.push_back(name);
  }
  ::closedir(d);
  return out;
}

}  // namespace berth::service
