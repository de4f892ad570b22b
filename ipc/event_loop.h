#pragma once
// EventLoop: one libuv loop, run by one thread. Other threads enter only through Post().
//
// Lifecycle: construct, then either Run() on the current thread (a service's main) or
// StartThread() (clients used from plain threads, tests). Stop() may be called from any thread;
// it makes Run() return after the callbacks already posted have run.

#include <uv.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace berth::ipc {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();  // stops and joins the loop thread if StartThread() was used
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  uv_loop_t* uv() { return &loop_; }

  // Runs `fn` on the loop thread. Thread-safe; runs inline order is preserved (FIFO).
  void Post(std::function<void()> fn);
  // Runs `fn` now if called on the loop thread, else posts it.
  void Dispatch(std::function<void()> fn);
  bool InLoopThread() const;

  // Runs the loop on this thread until Stop().
  void Run();
  void StartThread();
  void Stop();

  // One-shot timer on the loop thread (call both from the loop thread). The id cancels it;
  // cancelling a timer that already fired or an id of 0 does nothing.
  using TimerId = uint64_t;
  TimerId After(uint64_t millis, std::function<void()> fn);
  void Cancel(TimerId id);

 private:
  static void OnAsync(uv_async_t* handle);
  void Drain();

  uv_loop_t loop_;
  uv_async_t async_;
  std::mutex mutex_;
  std::vector<std::function<void()>> posted_;
  bool stopping_ = false;
  std::atomic<std::thread::id> loop_thread_;
  std::thread thread_;
  // Timers are pooled: a slot's uv_timer_t is initialised once and re-armed for later timers,
  // so After/Cancel cost neither a handle close nor a map node. An id is the slot index and
  // the slot's generation, so a stale id never cancels the slot's next timer.
  struct Timer;
  static void OnTimer(uv_timer_t* handle);
  void ReleaseTimer(Timer* timer);
  std::vector<Timer*> timer_slots_;
  std::vector<uint32_t> free_timer_slots_;
};

}  // namespace berth::ipc
