#pragma once
// Disk usage of a directory tree, as `du -s` counts it: allocated blocks (st_blocks * 512) of
// every entry, hard links once, without crossing into other filesystems (a mounted snapshot is
// not counted twice). For metrics that report how much a service's data takes on disk.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::service {

struct DiskUsage {
  uint64_t bytes = 0;
  uint64_t inodes = 0;
};

// NOT_FOUND when `path` does not exist; entries that vanish during the walk are skipped.
// Blocking; its cost grows with the number of entries.
Result<DiskUsage> MeasureDiskUsage(const std::string& path);

// Names of the directories directly under `dir` (not following symlinks); empty when `dir`
// cannot be read.
std::vector<std::string> SubDirectories(const std::string& dir);

}  // namespace berth::service
