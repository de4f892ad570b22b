#pragma once
// PtyRelay: the shim side of a terminal. Owns the pty master the runtime handed over and copies,
// on the loop and without blocking it:
//   master -> stdout (FIFO or file:// log, rotated through a LogCopier when the URI asks;
//   dropped when there is none)
//   stdin FIFO -> master (until CloseStdin)
// Each direction buffers at most 64 KiB; when the reader of stdout is away the relay stops
// reading the master, so the container's writes block instead of output being lost. When the
// master reports EOF/EIO (every slave closed) and the buffer is flushed, stdout is closed so the
// client sees EOF. Loop-thread object.

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "shim/stdio.h"

namespace berth::shim {

class PtyRelay {
 public:
  // Opens stdio per `spec` (stdin and stdout; stderr is the same pty) and starts copying.
  static Result<std::unique_ptr<PtyRelay>> Create(uv_loop_t* loop, UniqueFd master,
                                                  const StdioSpec& spec);
  ~PtyRelay();
  PtyRelay(const PtyRelay&) = delete;
  PtyRelay& operator=(const PtyRelay&) = delete;

  // TIOCSWINSZ on the master.
  Status Resize(uint32_t width, uint32_t height);
  // Stops copying stdin and closes the shim's stdin FIFO.
  void CloseStdin();
  // The process exited: move what the master holds now into stdout.
  void ProcessExited();
  bool output_closed() const { return !out_ && master_eof_; }

 private:
  struct Poll;
  PtyRelay(uv_loop_t* loop) : loop_(loop) {}
  Poll* Watch(int fd);
  void Update();
  void ReadMaster();
  void WriteMaster();
  void ReadStdin();
  void FlushOut();
  static void OnEvent(uv_poll_t* handle, int status, int events);

  uv_loop_t* loop_;
  UniqueFd master_;
  UniqueFd out_;
  UniqueFd in_;
  bool out_pollable_ = false;  // a FIFO (files are written directly)
  bool master_eof_ = false;
  std::string out_buf_;
  std::string in_buf_;
  Poll* master_poll_ = nullptr;
  Poll* out_poll_ = nullptr;
  Poll* in_poll_ = nullptr;
  // A rotated file:// stdout: out_ is the pipe this copier drains (stdio.h). Declared last, so
  // it is destroyed first and copies what the pipe still holds.
  std::vector<std::unique_ptr<LogCopier>> logs_;
};

}  // namespace berth::shim
