#include "services/snapshot/testing/tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "common/digest.h"
#include "common/fs.h"
#include "services/snapshot/fs_util.h"

namespace berth::snapshot::testing {
namespace {

std::string Printable(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if (c >= 0x21 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

class Describer {
 public:
  explicit Describer(const TreeOptions& options) : options_(options) {}

  Status Dir(int dir, const std::string& rel) {
    BERTH_ASSIGN_OR_RETURN(auto names, ListDir(dir));
    for (const std::string& name : names) {
      std::string path = rel.empty() ? name : rel + "/" + name;
      BERTH_ASSIGN_OR_RETURN(struct stat st, StatAt(dir, name));
      BERTH_RETURN_IF_ERROR(Line(dir, name, path, st));
      if (S_ISDIR(st.st_mode)) {
        BERTH_ASSIGN_OR_RETURN(UniqueFd child, OpenDirAt(dir, name));
        BERTH_RETURN_IF_ERROR(Dir(child.get(), path));
      }
    }
    return Status::Ok();
  }

  Status Line(int dir, const std::string& name, const std::string& path, const struct stat& st) {
    std::string line = fmt::format("{} {:o} {:o} {}:{}", Printable(path), st.st_mode & S_IFMT,
                                   st.st_mode & 07777, st.st_uid, st.st_gid);
    if (S_ISREG(st.st_mode)) {
      UniqueFd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) return ErrnoStatus(errno, "open " + path);
      BERTH_ASSIGN_OR_RETURN(std::string data, ReadAll(fd.get(), path));
      BERTH_ASSIGN_OR_RETURN(Digest digest, DigestBytes(data));
      line += fmt::format(" size={} {}", st.st_size, digest.hex.substr(0, 16));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(st.st_size + 1, '\0');
      ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus(errno, "readlink " + path);
      target.resize(n);
      line += " -> " + Printable(target);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      line += fmt::format(" dev={},{}", major(st.st_rdev), minor(st.st_rdev));
    }
    if (options_.mtimes && (!S_ISDIR(st.st_mode) || options_.dir_mtimes) && !S_ISLNK(st.st_mode)) {
      line += fmt::format(" mtime={}.{:09}", st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    }
    BERTH_ASSIGN_OR_RETURN(auto xattrs, ReadXattrs(dir, name));
    std::sort(xattrs.begin(), xattrs.end());
    for (const auto& [key, value] : xattrs) line += " " + key + "=" + Printable(value);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [it, first] = links_.try_emplace({st.st_dev, st.st_ino}, path);
      if (!first) line += " link=" + Printable(it->second);
    }
    out_ += line + "\n";
    return Status::Ok();
  }

  std::string Take() { return std::move(out_); }

 private:
  const TreeOptions& options_;
  std::string out_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

Result<std::string> DescribeTree(const std::string& root, TreeOptions options) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenDirectory(root, false));
  Describer describer(options);
  std::string head;
  if (options.root) {
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "stat " + root);
    head = fmt::format(". {:o} {}:{}", st.st_mode & 07777, st.st_uid, st.st_gid);
    if (options.mtimes && options.dir_mtimes) {
      head += fmt::format(" mtime={}.{:09}", st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    }
    BERTH_ASSIGN_OR_RETURN(auto xattrs, ReadXattrs(fd.get(), ""));
    std::sort(xattrs.begin(), xattrs.end());
    for (const auto& [key, value] : xattrs) head += " " + key + "=" + Printable(value);
    head += "\n";
  }
  BERTH_RETURN_IF_ERROR(describer.Dir(fd.get(), ""));
  return head + describer.Take();
}

}  // namespace berth::snapshot::testing
