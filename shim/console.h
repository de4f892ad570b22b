#pragma once
// ConsoleSocket: where the runtime hands over a container's pty master (runc/crun
// --console-socket). A listening AF_UNIX socket in a fresh 0700 directory under /tmp (short path,
// never abstract); the runtime connects and sends one message whose SCM_RIGHTS carry the master.
// The directory goes away with the object. Thread-compatible; calls do not block.

#include <string>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::shim {

class ConsoleSocket {
 public:
  // INTERNAL/errno statuses when the directory or socket cannot be made.
  static Result<ConsoleSocket> Create();
  ConsoleSocket(ConsoleSocket&& other) noexcept;
  ConsoleSocket& operator=(ConsoleSocket&& other) = delete;
  ConsoleSocket(const ConsoleSocket&) = delete;
  ~ConsoleSocket();

  const std::string& path() const { return path_; }

  // Takes the master the runtime sent (call after the runtime command exited: the connection
  // waits in the backlog). FAILED_PRECONDITION when nobody connected or no single fd came.
  Result<UniqueFd> ReceiveMaster();

 private:
  ConsoleSocket(std::string dir, std::string path, UniqueFd fd)
      : dir_(std::move(dir)), path_(std::move(path)), listener_(std::move(fd)) {}
  std::string dir_;
  std::string path_;
  UniqueFd listener_;
};

}  // namespace berth::shim
