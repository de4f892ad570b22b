#pragma once
// The files of a detached task's log as berth-shim leaves them (shim/rotating_log.h): `log`, the
// current one, and the rotated log.1 (newest) ... log.N (oldest).

#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::runtime {

// Opens every file of the log at `path` read-only, oldest first, the current file last, so that
// reading them in order gives the output in order. A file seen twice (a rotation moved it while
// the files were opened) is kept once. At most 31 rotated files (the newest) plus the current
// one: what one IPC message can carry. NOT_FOUND when `path` itself does not exist.
Result<std::vector<UniqueFd>> OpenLogFiles(const std::string& path);

}  // namespace berth::runtime
