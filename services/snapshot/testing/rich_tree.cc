#include "services/snapshot/testing/rich_tree.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common/fs.h"
#include "common/unique_fd.h"

namespace berth::snapshot::testing {
namespace {

class Builder {
 public:
  explicit Builder(std::string root) : root_(std::move(root)) {}

  void File(const std::string& rel, std::string_view data, mode_t mode = 0644, uid_t uid = 0,
            gid_t gid = 0) {
    Check(WriteFileAtomic(P(rel), data, 0600));
    Owner(rel, uid, gid, mode);
  }
  void Dir(const std::string& rel, mode_t mode = 0755, uid_t uid = 0, gid_t gid = 0) {
    if (::mkdir(P(rel).c_str(), 0700) != 0 && errno != EEXIST) Fail("mkdir", rel);
    Owner(rel, uid, gid, mode);
  }
  void Symlink(const std::string& rel, const std::string& target) {
    if (::symlink(target.c_str(), P(rel).c_str()) != 0) Fail("symlink", rel);
    struct timespec times[2] = {{1600000000, 0}, {1600000000, 123}};
    ::utimensat(AT_FDCWD, P(rel).c_str(), times, AT_SYMLINK_NOFOLLOW);
  }
  void Link(const std::string& rel, const std::string& existing) {
    if (::link(P(existing).c_str(), P(rel).c_str()) != 0) Fail("link", rel);
  }
  void Node(const std::string& rel, mode_t mode, dev_t dev) {
    if (::mknod(P(rel).c_str(), mode, dev) != 0) Fail("mknod", rel);
    ::chmod(P(rel).c_str(), mode & 07777);
  }
  void Xattr(const std::string& rel, const std::string& key, std::string_view value) {
    if (::lsetxattr(P(rel).c_str(), key.c_str(), value.data(), value.size(), 0) != 0) {
      Fail("setxattr " + key, rel);
    }
  }
  void Sparse(const std::string& rel) {
    UniqueFd fd(::open(P(rel).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) return Fail("create", rel);
    if (::pwrite(fd.get(), "head", 4, 0) != 4 || ::pwrite(fd.get(), "tail", 4, 8 << 20) != 4) {
      Fail("write", rel);
    }
  }
  // Fixed mtimes on everything, deepest first so directory times stay.
  void Times(const std::vector<std::string>& dirs_last) {
    for (const std::string& rel : dirs_last) {
      struct timespec times[2] = {
          {1600000000, 0},
          {1650000000 + static_cast<long>(rel.size()), static_cast<long>(rel.size()) * 1000 + 7}};
      if (::utimensat(AT_FDCWD, P(rel).c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
        Fail("utimensat", rel);
      }
    }
  }
  Status status() const { return status_; }

 private:
  std::string P(const std::string& rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }
  void Owner(const std::string& rel, uid_t uid, gid_t gid, mode_t mode) {
    if (::lchown(P(rel).c_str(), uid, gid) != 0 || ::chmod(P(rel).c_str(), mode) != 0) {
      Fail("chown/chmod", rel);
    }
  }
  void Check(const Status& status) {
    if (!status.ok() && status_.ok()) status_ = status;
  }
  void Fail(const std::string& what, const std::string& rel) {
    Check(ErrnoStatus(errno, what + " " + rel));
  }

  std::string root_;
  Status status_;
};

}  // namespace

std::string NetBindCapability() {
  struct vfs_cap_data cap {};
  cap.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
  cap.data[0].permitted = 1u << CAP_NET_BIND_SERVICE;
  return std::string(reinterpret_cast<const char*>(&cap), XATTR_CAPS_SZ_2);
}

Status MakeRichTree(const std::string& dir) {
  Builder b(dir);
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) >> 7);
  std::string long_dir = "deep/" + std::string(60, 'd') + "/" + std::string(60, 'e');
  b.Dir("bin");
  b.Dir("deep");
  b.Dir("deep/" + std::string(60, 'd'));
  b.Dir(long_dir, 0750, 1000, 1000);
  b.Dir("etc");
  b.Dir("home", 0755);
  b.Dir("home/user", 0700, 1000, 1000);
  b.Dir("tmp", 01777);
  b.Dir("ro", 0555);
  b.Dir("dev");
  b.File("empty", "");
  b.File("etc/hosts", "127.0.0.1 localhost\n");
  b.File("bin/tool", big, 0755);
  b.File("bin/suid", "#!/bin/sh\n", 04755);
  b.File("bin/sgid", "#!/bin/sh\n", 02711, 0, 50);
  b.File("bin/ping", "ping\n", 0755);
  b.Xattr("bin/ping", "security.capability", NetBindCapability());
  b.File("home/user/notes", "mine\n", 0600, 1000, 1000);
  b.File("nobody", "x", 0640, 65534, 65534);
  b.File(long_dir + "/" + std::string(80, 'f') + ".txt", "long path\n");
  b.File("caf\xc3\xa9", "utf-8 name\n");
  b.File("bytes-\xff\xfe", "not utf-8\n");
  b.File("ro/inside", "read-only dir\n", 0444);
  b.File("xattrs", "x");
  b.Xattr("xattrs", "user.color", "blue");
  b.Xattr("xattrs", "trusted.berth", std::string("bin\0ary", 7));
  b.Sparse("sparse");
  b.Symlink("rel-link", "etc/hosts");
  b.Symlink("abs-link", "/etc/hosts");
  b.Symlink("dangling", "does/not/exist");
  b.Symlink("dir-link", "home");
  b.Link("hard-a", "etc/hosts");
  b.Link("bin/hard-b", "etc/hosts");
  b.Link("bin/tool2", "bin/tool");
  b.Node("dev/null", S_IFCHR | 0666, makedev(1, 3));
  b.Node("dev/loop9", S_IFBLK | 0660, makedev(7, 9));
  b.Node("fifo", S_IFIFO | 0620, 0);
  b.Times({"empty",
           "etc/hosts",
           "bin/tool",
           "bin/suid",
           "bin/sgid",
           "bin/ping",
           "home/user/notes",
           "nobody",
           "caf\xc3\xa9",
           "bytes-\xff\xfe",
           "ro/inside",
           "xattrs",
           "sparse",
           "dev/null",
           "dev/loop9",
           "fifo",
           long_dir + "/" + std::string(80, 'f') + ".txt",
           long_dir,
           "deep/" + std::string(60, 'd'),
           "deep",
           "bin",
           "etc",
           "home/user",
           "home",
           "tmp",
           "ro",
           "dev"});
  return b.status();
}

}  // namespace berth::snapshot::testing
