#include "ipc/event_loop.h"

#include <cstdlib>
#include <future>

namespace berth::ipc {

struct EventLoop::Timer {
  uv_timer_t handle;
  std::function<void()> fn;
  TimerId id;
  EventLoop* loop;
};

EventLoop::EventLoop() {
  if (uv_loop_init(&loop_) != 0) std::abort();
  uv_async_init(&loop_, &async_, &EventLoop::OnAsync);
  async_.data = this;
  loop_thread_ = std::this_thread::get_id();
}

EventLoop::~EventLoop() {
  Stop();
  if (thread_.joinable()) thread_.join();
  // Close every handle still open (owners that outlive the loop must not exist, but timers and
  // the async handle do), then let their close callbacks run.
  for (auto& [id, timer] : timers_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer->handle),
             [](uv_handle_t* closed) { delete static_cast<Timer*>(closed->data); });
  }
  timers_.clear();
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

void EventLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard lock(mutex_);
    posted_.push_back(std::move(fn));
  }
  uv_async_send(&async_);
}

void EventLoop::Dispatch(std::function<void()> fn) {
  if (InLoopThread()) {
    fn();
  } else {
    Post(std::move(fn));
  }
}

bool EventLoop::InLoopThread() const { return std::this_thread::get_id() == loop_thread_; }

void EventLoop::OnAsync(uv_async_t* handle) { static_cast<EventLoop*>(handle->data)->Drain(); }

void EventLoop::Drain() {
  std::vector<std::function<void()>> batch;
  bool stopping;
  {
    std::lock_guard lock(mutex_);
    batch.swap(posted_);
    stopping = stopping_;
  }
  for (auto& fn : batch) fn();
  if (stopping) uv_stop(&loop_);
}

void EventLoop::Run() {
  loop_thread_ = std::this_thread::get_id();
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void EventLoop::StartThread() {
  std::promise<void> started;
  auto started_future = started.get_future();
  thread_ = std::thread([this, &started] {
    loop_thread_ = std::this_thread::get_id();
    started.set_value();
    uv_run(&loop_, UV_RUN_DEFAULT);
  });
  started_future.wait();
}

void EventLoop::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  uv_async_send(&async_);
}

EventLoop::TimerId EventLoop::After(uint64_t millis, std::function<void()> fn) {
  TimerId id = next_timer_id_++;
  auto* timer = new Timer{{}, std::move(fn), id, this};
  timers_[id] = timer;
  uv_timer_init(&loop_, &timer->handle);
  timer->handle.data = timer;
  uv_timer_start(
      &timer->handle,
      [](uv_timer_t* h) {
        auto* t = static_cast<Timer*>(h->data);
        t->loop->timers_.erase(t->id);
        auto fn = std::move(t->fn);
        uv_close(reinterpret_cast<uv_handle_t*>(h),
                 [](uv_handle_t* closed) { delete static_cast<Timer*>(closed->data); });
        fn();
      },
      millis, 0);
  return id;
}

void EventLoop::Cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  Timer* timer = it->second;
  timers_.erase(it);
  uv_timer_stop(&timer->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer->handle),
           [](uv_handle_t* closed) { delete static_cast<Timer*>(closed->data); });
}

}  // namespace berth::ipc
