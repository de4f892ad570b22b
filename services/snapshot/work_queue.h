#pragma once
// WorkQueue: runs blocking calls (disk, syncfs, layer apply) on libuv's threadpool so the loop
// thread never blocks (DESIGN §6). The work replies by itself (ipc::Reply is thread-safe), so
// nothing needs to come back to the loop.
//
// Post() must be called on the loop thread. The destructor waits until every posted job has
// finished, so the objects the jobs use may be destroyed right after it.

#include <uv.h>

#include <condition_variable>
#include <functional>
#include <mutex>

#include "ipc/event_loop.h"

namespace berth::snapshot {

class WorkQueue {
 public:
  explicit WorkQueue(ipc::EventLoop& loop) : loop_(loop) {}
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Post(std::function<void()> work);

 private:
  struct Job;
  static void OnWork(uv_work_t* req);
  static void OnDone(uv_work_t* req, int status);

  ipc::EventLoop& loop_;
  std::mutex mutex_;
  std::condition_variable idle_;
  int running_ = 0;  // guarded
};

}  // namespace berth::snapshot
