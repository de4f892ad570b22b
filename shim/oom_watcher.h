#pragma once
// OomWatcher: reports OOM kills in a container's memory cgroup (for the /tasks/oom event).
//   v1: an eventfd registered on memory.oom_control through cgroup.event_control;
//   v2: inotify on memory.events, reporting when its oom_kill counter grows.
// The watch ends by itself when the cgroup is removed. Loop-thread object.

#include <sys/types.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "common/unique_fd.h"
#include "shim/cgroup_stats.h"

namespace berth::shim {

class OomWatcher {
 public:
  // Watches the memory cgroup of `pid`. NOT_FOUND when it has none (no memory controller).
  static Result<std::unique_ptr<OomWatcher>> Create(uv_loop_t* loop, pid_t pid,
                                                    std::function<void()> on_oom);
  // Watches the cgroup directory `dir` directly (tests).
  static Result<std::unique_ptr<OomWatcher>> CreateForDir(uv_loop_t* loop, CgroupMode mode,
                                                          std::string dir,
                                                          std::function<void()> on_oom);
  ~OomWatcher();
  OomWatcher(const OomWatcher&) = delete;
  OomWatcher& operator=(const OomWatcher&) = delete;

 private:
  OomWatcher(CgroupMode mode, std::string dir, std::function<void()> on_oom)
      : mode_(mode), dir_(std::move(dir)), on_oom_(std::move(on_oom)) {}
  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Stop();
  uint64_t OomKills() const;

  CgroupMode mode_;
  std::string dir_;
  std::function<void()> on_oom_;
  UniqueFd event_fd_;    // v1 eventfd / v2 inotify
  UniqueFd control_fd_;  // v1: memory.oom_control, kept open while registered
  uv_poll_t* poll_ = nullptr;
  uint64_t last_kills_ = 0;
};

}  // namespace berth::shim
