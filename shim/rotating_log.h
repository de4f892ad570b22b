#pragma once
// RotatingLog: a container's log file that is kept below a size by rotation, as the shim writes
// it (see LogCopier). When the next bytes would take `path` over `max_size`, the file is closed
// and renamed to path.1, path.1 to path.2, ... path.<max_files-1> to path.<max_files> (the
// oldest, path.<max_files>, is overwritten), and a new empty `path` is started. So at most
// max_files + 1 files exist and reading path.<max_files> ... path.1, path in that order gives
// the kept output in order, without a byte lost or repeated at a boundary.
//
// A file is cut after the last newline that still fits, so lines written whole stay whole (a
// line that reaches the shim in pieces may straddle two files; a line longer than a whole file
// is split). Each file holds at most `max_size` bytes. Not thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::shim {

struct LogRotation {
  uint64_t max_size = 0;  // bytes per file; 0: no rotation (one growing file)
  int max_files = 0;      // rotated files kept beside the current one
};

class RotatingLog {
 public:
  // Opens (creates, appends to) `path`; its parents must exist. `rotation.max_size` > 0.
  static Result<std::unique_ptr<RotatingLog>> Open(const std::string& path, LogRotation rotation);

  // Appends `data`, rotating as often as needed. On an error (disk full) the rest of `data` is
  // dropped and the error returned; later writes try again.
  Status Write(std::string_view data);

  const std::string& path() const { return path_; }

 private:
  RotatingLog(std::string path, LogRotation rotation)
      : path_(std::move(path)), rotation_(rotation) {}
  Status Rotate();
  Status Append(std::string_view data);

  std::string path_;
  LogRotation rotation_;
  UniqueFd fd_;
  uint64_t size_ = 0;  // bytes in the current file
};

// The name of rotated file `index` (1 = newest) of `path`: "<path>.<index>".
std::string RotatedLogName(const std::string& path, int index);

}  // namespace berth::shim
