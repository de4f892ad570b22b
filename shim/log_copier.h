#pragma once
// LogCopier: the shim side of a rotated container log. The container writes into a pipe; the
// copier reads it on the shim's loop (never blocking it) and appends to a RotatingLog. The
// shim lives as long as the container, so output keeps being copied and rotated while
// berth-runtime restarts. When the shim is slow the pipe fills and the container's writes wait:
// nothing is dropped, except when writing the file fails (disk full), which is logged.
// Loop-thread object.

#include <uv.h>

#include <memory>

#include "common/status.h"
#include "common/unique_fd.h"
#include "shim/rotating_log.h"

namespace berth::shim {

class LogCopier {
 public:
  // Starts copying from `pipe_read_end` (made non-blocking here) into `log`.
  static Result<std::unique_ptr<LogCopier>> Create(uv_loop_t* loop, UniqueFd pipe_read_end,
                                                   std::unique_ptr<RotatingLog> log);
  // Copies what the pipe still holds, then stops.
  ~LogCopier();
  LogCopier(const LogCopier&) = delete;
  LogCopier& operator=(const LogCopier&) = delete;

  // Copies everything the pipe holds now (the process exited: its last output is there).
  void Drain();
  // Every writer closed the pipe and all was copied.
  bool finished() const { return eof_; }

 private:
  struct Poll;
  LogCopier() = default;
  static void OnReadable(uv_poll_t* handle, int status, int events);
  // Reads and writes up to `max_chunks` chunks (-1: until the pipe is empty).
  void Copy(int max_chunks);

  UniqueFd pipe_;
  std::unique_ptr<RotatingLog> log_;
  Poll* poll_ = nullptr;
  bool eof_ = false;
  bool failing_ = false;  // the last write to the log failed
};

}  // namespace berth::shim
