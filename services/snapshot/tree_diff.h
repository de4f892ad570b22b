#pragma once
// WriteTreeDiff: the "walking" comparison behind Compare. Walks `lower` and `upper` side by side
// (fd-relative, sorted, never following symlinks) and writes to a LayerWriter, in tar order:
//   - entries only in upper, and entries whose type, mode, owner, size, mtime, rdev, symlink
//     target or xattrs differ (files whose mtime has no sub-second part are also compared byte
//     for byte, since tar may have truncated their times);
//   - an OCI whiteout ".wh.<name>" for each entry only in lower.
// Files with several links in upper are written once and linked afterwards (hardlink entries
// point only at paths written earlier in the same layer).
//
// Both trees must stay unchanged during the walk (mount them read-only).

#include <string>

#include "common/status.h"
#include "services/snapshot/layer_writer.h"

namespace berth::snapshot {

struct TreeDiffStats {
  uint64_t added_or_changed = 0;
  uint64_t whiteouts = 0;
};

// `lower` may be empty (""): everything in upper is new.
Result<TreeDiffStats> WriteTreeDiff(const std::string& lower, const std::string& upper,
                                    LayerWriter& writer);

}  // namespace berth::snapshot
