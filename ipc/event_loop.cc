#include "ipc/event_loop.h"

#include <cstdlib>
#include <future>

namespace berth::ipc {

struct EventLoop::Timer {
  uv_timer_t handle;
  std::function<void()> fn;
  EventLoop* loop;
  uint32_t slot;
  uint32_t generation = 0;  // bumped by every After() that uses the slot
  bool armed = false;
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
  for (Timer* timer : timer_slots_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer->handle),
             [](uv_handle_t* closed) { delete static_cast<Timer*>(closed->data); });
  }
  timer_slots_.clear();
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
  Timer* timer;
  if (!free_timer_slots_.empty()) {
    timer = timer_slots_[free_timer_slots_.back()];
    free_timer_slots_.pop_back();
  } else {
    timer = new Timer{{}, {}, this, static_cast<uint32_t>(timer_slots_.size())};
    uv_timer_init(&loop_, &timer->handle);
    timer->handle.data = timer;
    timer_slots_.push_back(timer);
  }
  if (++timer->generation == 0) timer->generation = 1;  // ids are never 0
  timer->fn = std::move(fn);
  timer->armed = true;
  uv_timer_start(&timer->handle, &EventLoop::OnTimer, millis, 0);
  return (TimerId{timer->generation} << 32) | timer->slot;
}

void EventLoop::OnTimer(uv_timer_t* handle) {
  auto* timer = static_cast<Timer*>(handle->data);
  auto fn = std::move(timer->fn);
  timer->loop->ReleaseTimer(timer);  // before fn: it may arm timers, even in this slot
  fn();
}

// Disarms and returns the slot to the pool. The caller owns whatever fn captured.
void EventLoop::ReleaseTimer(Timer* timer) {
  timer->armed = false;
  timer->fn = nullptr;
  free_timer_slots_.push_back(timer->slot);
}

void EventLoop::Cancel(TimerId id) {
  auto slot = static_cast<uint32_t>(id);
  auto generation = static_cast<uint32_t>(id >> 32);
  if (slot >= timer_slots_.size()) return;
  Timer* timer = timer_slots_[slot];
  if (!timer->armed || timer->generation != generation) return;
  uv_timer_stop(&timer->handle);
  // Destroyed after the slot is back in the pool: the captures' destructors may use the loop.
  auto fn = std::move(timer->fn);
  ReleaseTimer(timer);
}

}  // namespace berth::ipc
