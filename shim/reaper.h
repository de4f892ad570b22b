#pragma once
// Reaper: the shim's single reaping loop. The shim is a child subreaper, so container processes
// (runc's grandchildren) become its children; every child, runc invocations included, is reaped
// here and nowhere else (no other waitpid in the daemon).
//
// SIGCHLD is blocked and read from a signalfd polled by the libuv loop; each wakeup drains
// wait4(-1, WNOHANG) and hands every (pid, status) to the callback watching that pid. An exit
// nobody watches yet is kept (bounded, oldest dropped) so a caller that learns a pid only after
// the process may already have exited (runc exec's pid file) can still claim it: Watch()
// returns that status instead of registering the callback. Kept exits carry the time they were
// reaped: pids are reused (an orphan of a container in the host pid namespace is reparented to
// the shim, reaped here and never claimed), so a kept exit reaped before the process being
// watched was started belongs to an earlier process and is not handed out for it.
//
// Loop-thread object. Create it before spawning any child.

#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::shim {

class Reaper {
 public:
  // The raw wait status (WIFEXITED/WIFSIGNALED...).
  using ExitCallback = std::function<void(int wait_status)>;
  using Clock = std::chrono::steady_clock;

  // Blocks SIGCHLD for the calling thread (children get an empty mask from common/process) and
  // starts polling a signalfd on `loop`. INTERNAL when the signalfd cannot be created.
  static Result<std::unique_ptr<Reaper>> Create(uv_loop_t* loop, size_t max_unclaimed = 256);
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Calls `callback` once when `pid` exits. If `pid` already exited and nobody claimed it, the
  // callback is NOT registered and that wait status is returned instead. `started_after` is a
  // time taken before the process was started (before spawning it, or the runtime call that
  // creates it): an unclaimed exit of `pid` reaped before then was an earlier process with the
  // same pid, and is ignored (it stays until the bound drops it). Watching a pid twice replaces
  // the first callback.
  std::optional<int> Watch(pid_t pid, ExitCallback callback, Clock::time_point started_after);
  // Stops watching `pid` (its exit, if it comes, is kept as unclaimed).
  void Unwatch(pid_t pid);
  // Reaps whatever exited now (also run on every SIGCHLD).
  void ReapAll();

  size_t watched() const { return watchers_.size(); }
  size_t unclaimed() const { return unclaimed_.size(); }

 private:
  Reaper(uv_loop_t* loop, UniqueFd signal_fd, size_t max_unclaimed);
  static void OnReadable(uv_poll_t* handle, int status, int events);

  UniqueFd signal_fd_;
  uv_poll_t* poll_;
  size_t max_unclaimed_;
  std::unordered_map<pid_t, ExitCallback> watchers_;
  struct Unclaimed {
    pid_t pid;
    int wait_status;
    Clock::time_point reaped_at;
  };
  std::deque<Unclaimed> unclaimed_;
};

// The exit status containerd reports: the exit code, or 128 + the signal.
uint32_t ExitCodeFromWaitStatus(int wait_status);

}  // namespace berth::shim
