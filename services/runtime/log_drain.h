#pragma once
// LogDrain: reads a shim's `log` FIFO (its stderr) on the loop and passes each line to spdlog
// at debug level with the container id, so a chatty shim never blocks on a full pipe.
// Loop-thread object; destroying it stops reading and closes the fd (after libuv let go of it).

#include <uv.h>

#include <string>

#include "common/unique_fd.h"

namespace berth::runtime {

class LogDrain {
 public:
  LogDrain(uv_loop_t* loop, UniqueFd fd, std::string id);
  ~LogDrain();
  LogDrain(const LogDrain&) = delete;
  LogDrain& operator=(const LogDrain&) = delete;

 private:
  static void OnReadable(uv_poll_t* handle, int status, int events);
  struct Handle;
  Handle* handle_ = nullptr;  // freed in the close callback
};

}  // namespace berth::runtime
