#include "shim/rotating_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace berth::shim {
namespace {

Result<UniqueFd> OpenLogFile(const std::string& path, int extra_flags) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | extra_flags, 0640));
  if (!fd) return ErrnoStatus(errno, "open log file " + path);
  return fd;
}

}  // namespace

std::string RotatedLogName(const std::string& path, int index) {
  return path + "." + std::to_string(index);
}

Result<std::unique_ptr<RotatingLog>> RotatingLog::Open(const std::string& path,
                                                       LogRotation rotation) {
  if (rotation.max_size == 0 || rotation.max_files < 0) {
    return Error(Code::kInvalidArgument, "log rotation of {} needs max-size > 0 and max-files >= 0",
                 path);
  }
  std::unique_ptr<RotatingLog> log(new RotatingLog(path, rotation));
  BERTH_ASSIGN_OR_RETURN(log->fd_, OpenLogFile(path, 0));
  struct stat st;
  if (::fstat(log->fd_.get(), &st) != 0) return ErrnoStatus(errno, "stat " + path);
  log->size_ = static_cast<uint64_t>(st.st_size);
  return log;
}

Status RotatingLog::Write(std::string_view data) {
  const uint64_t max = rotation_.max_size;
  while (!data.empty()) {
    uint64_t room = size_ < max ? max - size_ : 0;
    if (data.size() <= room) return Append(data);
    size_t cut = 0;
    if (room > 0) {
      size_t newline = data.substr(0, room).rfind('\n');
      if (newline != std::string_view::npos) cut = newline + 1;
    }
    if (cut == 0 && size_ == 0) cut = room;  // one line longer than a whole file: split it
    if (cut > 0) {
      BERTH_RETURN_IF_ERROR(Append(data.substr(0, cut)));
      data.remove_prefix(cut);
    }
    if (Status rotated = Rotate(); !rotated.ok()) {
      (void)Append(data);  // keep the output in the current file, over the limit
      return rotated;
    }
  }
  return Status::Ok();
}

Status RotatingLog::Append(std::string_view data) {
  if (!fd_) {  // a failed rotation closed it: go on appending
    BERTH_ASSIGN_OR_RETURN(fd_, OpenLogFile(path_, 0));
    struct stat st;
    if (::fstat(fd_.get(), &st) == 0) size_ = static_cast<uint64_t>(st.st_size);
  }
  while (!data.empty()) {
    ssize_t n = ::write(fd_.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus(n < 0 ? errno : ENOSPC, "write log file " + path_);
    size_ += static_cast<uint64_t>(n);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Shifts the rotated files up by one (from the oldest down, so none is overwritten but the
// oldest) and starts an empty current file. A rename that fails for another reason than a
// missing file is reported; Write then keeps appending to the current file rather than losing
// output.
Status RotatingLog::Rotate() {
  fd_.reset();
  // Only the files that exist move: path.1 ... path.<top-1> (path.<max_files> is overwritten).
  int top = 1;
  while (top < rotation_.max_files && ::access(RotatedLogName(path_, top).c_str(), F_OK) == 0) {
    ++top;
  }
  for (int i = top - 1; i >= 1; --i) {
    std::string from = RotatedLogName(path_, i);
    if (::rename(from.c_str(), RotatedLogName(path_, i + 1).c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "rotate " + from);
    }
  }
  if (rotation_.max_files > 0) {
    if (::rename(path_.c_str(), RotatedLogName(path_, 1).c_str()) != 0) {
      return ErrnoStatus(errno, "rotate " + path_);
    }
  }
  BERTH_ASSIGN_OR_RETURN(fd_, OpenLogFile(path_, O_TRUNC));
  size_ = 0;
  return Status::Ok();
}

}  // namespace berth::shim
