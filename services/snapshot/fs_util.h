#pragma once
// fd-relative file system helpers for the snapshotters and the differ. None of them follows a
// symlink in the last component, and none crosses into another mount.
//
// An entry is named by (dirfd, name) where `name` is one path component. Operations that have no
// *at() form (xattrs on any file type) go through "/proc/self/fd/<dirfd>/<name>": the magic link
// resolves to the directory the fd already holds, and the l*xattr calls do not follow `name`.
//
// Thread-safety: no shared state; all functions block.

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::snapshot {

using Xattrs = std::vector<std::pair<std::string, std::string>>;

// "/proc/self/fd/<dirfd>/<name>" ("/proc/self/fd/<dirfd>" when name is empty).
std::string FdPath(int dirfd, std::string_view name = {});

// Opens directory `name` under `dirfd` without following a symlink (ELOOP/ENOTDIR then).
Result<UniqueFd> OpenDirAt(int dirfd, const std::string& name);

// Names in an open directory (without "." and ".."), sorted bytewise.
Result<std::vector<std::string>> ListDir(int dirfd);

// All extended attributes of (dirfd, name), in the order the kernel lists them. An empty `name`
// means the file `dirfd` itself (any open fd, not only directories); so for SetXattr.
Result<Xattrs> ReadXattrs(int dirfd, const std::string& name);
Status SetXattr(int dirfd, const std::string& name, const std::string& key, std::string_view value);

// rm -rf of (dirfd, name): a symlink is removed, never followed; a directory that is a mount
// point is FAILED_PRECONDITION. A missing entry is OK.
Status RemoveAt(int dirfd, const std::string& name);
// Removes everything inside an open directory.
Status RemoveChildren(int dirfd);

// fstatat(AT_SYMLINK_NOFOLLOW). NOT_FOUND when absent.
Result<struct stat> StatAt(int dirfd, const std::string& name);

}  // namespace berth::snapshot
