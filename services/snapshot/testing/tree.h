#pragma once
// DescribeTree: a canonical, line-per-entry text description of a directory tree, for tests that
// compare trees (layer round trips, Berth's apply against GNU tar's). Symlinks are never
// followed. A line is
//   <path> <type> <mode> <uid>:<gid> [size sha256 | -> target | dev major,minor] [mtime]
//   [xattr key=value...] [link=<first path of the same inode>]
// Directory sizes and atimes are never included (they differ between equal trees).

#include <string>

#include "common/status.h"

namespace berth::snapshot::testing {

struct TreeOptions {
  bool mtimes = true;      // include mtimes (seconds.nanoseconds)
  bool dir_mtimes = true;  // include directory mtimes (when mtimes)
  bool root = false;       // include the root directory's own line (".")
};

Result<std::string> DescribeTree(const std::string& root, TreeOptions options = {});

}  // namespace berth::snapshot::testing
