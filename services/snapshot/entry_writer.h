#pragma once
// EntryWriter: writes the entries of a layer tar into a snapshot directory, fd-relative and
// confined to it. It is the part of Apply that hostile layers attack; its rules:
//
//  * Entry names are cleaned first (NormalizeEntryPath): leading '/' and '.' components are
//    dropped (absolute names land inside the root, as with GNU tar), a ".." component refuses the
//    entry, names longer than kMaxPathLength are refused.
//  * The parent directory of an entry is resolved with openat2(RESOLVE_IN_ROOT |
//    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV) from the root fd: symlinks on the way are followed
//    as they would be inside the container (an absolute symlink or ".." stops at the snapshot
//    root), so nothing outside the root is ever reached. Missing parents are created.
//  * The last component is never followed: files are created O_CREAT|O_EXCL|O_NOFOLLOW, links
//    with symlinkat/linkat/mknodat, and metadata is set on the fd just created or with
//    AT_SYMLINK_NOFOLLOW; an existing entry in the way is removed (a directory recursively, a
//    symlink itself, never its target) unless both are directories.
//  * Hardlink targets are resolved the same way, so they are inside the root; linkat never
//    follows a symlink target.
//  * Directory times are set at the end (children change them); each directory is reopened
//    without following symlinks and checked by device and inode, so a directory replaced by a
//    symlink later in the layer is never touched through it (libarchive CVE-2021-31566).
//  * Whiteouts: ".wh.<name>" and the opaque marker ".wh..wh..opq" become, in overlay mode, a
//    0/0 character device and trusted.overlay.opaque=y in the upper directory; in delete mode
//    (native snapshots) the whited-out entry is removed, and an opaque directory loses every
//    child that this layer did not write. Other ".wh..wh." names (aufs metadata) are skipped.
//
// Owners are the numeric ids of the tar header; modes keep setuid/setgid/sticky; xattrs (e.g.
// security.capability) are set after chown, which would clear them.
//
// Thread-safety: one thread at a time.

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "services/snapshot/fs_util.h"

namespace berth::snapshot {

inline constexpr size_t kMaxPathLength = 4096;

enum class WhiteoutMode {
  kDelete,   // apply onto a full tree (native snapshots, bind mounts): remove whited-out entries
  kOverlay,  // apply into an overlay upper dir: write overlay whiteouts
};

// Cleans a tar entry name into a relative path without "." or empty components. Returns "" for
// the root itself ("./", "/"). INVALID_ARGUMENT for ".." components or oversized names.
Result<std::string> NormalizeEntryPath(std::string_view name);

struct Entry {
  std::string path;       // normalized (NormalizeEntryPath); "" = the root directory
  mode_t type = S_IFREG;  // S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO
  mode_t mode = 0644;     // permission bits including 07000
  uid_t uid = 0;
  gid_t gid = 0;
  struct timespec mtime {};
  struct timespec atime {};  // tv_nsec == UTIME_OMIT when the header has none
  std::string link;          // symlink target (as is), or hardlink target (normalized)
  bool hardlink = false;
  dev_t rdev = 0;
  int64_t size = 0;  // regular files: the logical size
  Xattrs xattrs;
};

// Supplies a regular file's data in blocks: returns false at the end of the data.
// `offset` is where the block goes in the file (blocks skip holes in sparse files).
using DataSource = std::function<Result<bool>(const void** data, size_t* size, int64_t* offset)>;

struct EntryWriterOptions {
  WhiteoutMode whiteouts = WhiteoutMode::kDelete;
  // Overlay mode: the lower layers' directories, top first. A parent directory missing in the
  // upper dir is created with the owner, mode and times it has in the first lower that has it
  // (as containerd does), not with defaults.
  std::vector<std::string> lower_dirs;
  // Largest logical size of one regular file.
  int64_t max_file_size = int64_t{1} << 40;
};

class EntryWriter {
 public:
  // Opens the root directory (which must exist; a symlink is refused).
  static Result<std::unique_ptr<EntryWriter>> Open(const std::string& root,
                                                   EntryWriterOptions options);
  ~EntryWriter();

  // Writes one entry. `data` is used for regular files (not for hardlinks). Errors name the
  // entry's path.
  Status Write(const Entry& entry, const DataSource& data);
  // Sets the deferred directory times. Call once after the last entry.
  Status Finish();

 private:
  struct DeferredTimes {
    std::string path;
    dev_t dev;
    ino_t ino;
    struct timespec times[2];
  };

  EntryWriter(UniqueFd root, EntryWriterOptions options);
  Status WriteEntry(const Entry& entry, const DataSource& data);
  Status WriteWhiteout(const Entry& entry, const std::string& parent, const std::string& name);
  // An fd for directory `path` (relative, "" = root) resolved in the root; creates missing
  // directories when `create`. NOT_FOUND when absent and !create.
  Result<int> ResolveDir(const std::string& path, bool create);
  Result<UniqueFd> OpenInRoot(const std::string& path);
  Result<UniqueFd> CreateParents(const std::string& path);
  // For a directory CreateParents just made: overlay mode copies owner, mode and times from the
  // first lower layer that has `path`; delete mode records it as written by this layer.
  Status CopyLowerDirMetadata(int fd, const std::string& path);
  // Removes whatever is at (dirfd, name) unless it is a directory and `keep_dir`.
  // Returns true when a directory was kept.
  Result<bool> ClearWay(int dirfd, const std::string& name, bool keep_dir);
  void Invalidate();

  Status WriteFile(int dirfd, const std::string& name, const Entry& entry, const DataSource& data);
  Status WriteDir(int dirfd, const std::string& name, const Entry& entry);
  Status WriteSymlink(int dirfd, const std::string& name, const Entry& entry);
  Status WriteHardlink(int dirfd, const std::string& name, const Entry& entry);
  Status WriteNode(int dirfd, const std::string& name, const Entry& entry);
  // xattrs and times of a non-regular, non-directory entry (through its parent).
  Status SetXattrs(int dirfd, const std::string& name, const Entry& entry);
  void Defer(const std::string& path, const struct stat& st, const Entry& entry);

  UniqueFd root_;
  EntryWriterOptions options_;
  std::vector<UniqueFd> lowers_;
  int resolve_errno_ = 0;  // errno of the last failed ResolveDir, 0 after a success
  mode_t umask_ = 022;
  uid_t euid_ = 0;
  gid_t egid_ = 0;
  // A few recently resolved directories (path -> fd), dropped whenever something is removed.
  std::vector<std::pair<std::string, UniqueFd>> cache_;
  // Fds dropped from the cache during the current entry (its code may still use them).
  std::vector<UniqueFd> graveyard_;
  std::vector<DeferredTimes> deferred_;
  std::unordered_map<std::string, size_t> deferred_index_;
  // Delete mode: inodes written by this layer (an opaque directory keeps them).
  std::unordered_set<ino_t> written_;
};

}  // namespace berth::snapshot
