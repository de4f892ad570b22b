#pragma once
// MakeRichTree: a directory tree with everything a layer can carry, for apply/compare tests:
// regular files (empty, small, 3 MiB, sparse), nested and long paths (> 100 bytes), names with
// UTF-8 and with bytes that are not UTF-8, directories with unusual modes (0700, 01777, 0555),
// setuid/setgid files, other owners (1000:1000, 65534), relative, absolute and dangling
// symlinks, hardlinks (2 and 3 names), char and block devices, a fifo, xattrs (user.*,
// trusted.*, security.capability) and fixed nanosecond mtimes. Needs root.

#include <string>

#include "common/status.h"

namespace berth::snapshot::testing {

Status MakeRichTree(const std::string& dir);

// A valid security.capability value (VFS_CAP_REVISION_2) granting CAP_NET_BIND_SERVICE.
std::string NetBindCapability();

}  // namespace berth::snapshot::testing
