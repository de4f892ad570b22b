#pragma once
// Tree copies and measurements used by the native snapshotter (which materialises each snapshot
// as a full copy of its parent) and by Commit/Usage.
//
// CopyTree keeps everything a layer can express: file types (regular, dir, symlink, hardlinks,
// char/block devices, fifos, sockets), owners, modes including setuid/setgid/sticky, atime and
// mtime, and extended attributes of every namespace (trusted.* and security.* need root).
// Regular files are copied in the kernel (copy_file_range: reflinks or server-side copies where
// the filesystem can) with a read/write fallback. Symlinks are copied, never followed.
//
// Thread-safety: no shared state; both functions block.

#include <cstdint>
#include <string>

#include "common/status.h"
#include "services/snapshot/snapshotter.h"

namespace berth::snapshot {

// Copies the contents of directory `src` into existing empty directory `dst`, and `src`'s own
// owner, mode, times and xattrs onto `dst`.
Status CopyTree(const std::string& src, const std::string& dst);

// Disk used below `dir` (st_blocks * 512, each inode once) and the inode count, not counting
// `dir` itself.
Result<Usage> DiskUsage(const std::string& dir);

}  // namespace berth::snapshot
