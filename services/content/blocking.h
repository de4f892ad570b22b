#pragma once
// BlockingRunner: runs blocking work (disk I/O, hashing, fsync) on libuv's threadpool and hands
// its result back on the loop thread (DESIGN §6: the loop never blocks on the disk).
//
// Run() must be called on the loop thread. The destructor (loop thread) waits for work that is
// running or queued to finish, so the objects work functions use may be destroyed right after
// it; the `done` callbacks of such work are dropped.

#include <uv.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "ipc/event_loop.h"

namespace berth::content {

class BlockingRunner {
 public:
  explicit BlockingRunner(ipc::EventLoop& loop) : loop_(loop), state_(std::make_shared<State>()) {}
  ~BlockingRunner() {
    std::unique_lock lock(state_->mutex);
    state_->alive = false;
    state_->idle.wait(lock, [this] { return state_->running == 0; });
  }
  BlockingRunner(const BlockingRunner&) = delete;
  BlockingRunner& operator=(const BlockingRunner&) = delete;

  template <typename T>
  void Run(std::function<T()> work, std::function<void(T)> done) {
    auto* job = new Job<T>{};
    job->req.data = job;
    job->state = state_;
    job->work = std::move(work);
    job->done = std::move(done);
    {
      std::lock_guard lock(state_->mutex);
      ++state_->running;
    }
    uv_queue_work(loop_.uv(), &job->req, &Job<T>::OnWork, &Job<T>::OnDone);
  }

 private:
  struct State {
    std::mutex mutex;
    std::condition_variable idle;
    int running = 0;
    bool alive = true;
  };

  template <typename T>
  struct Job {
    uv_work_t req;
    std::shared_ptr<State> state;
    std::function<T()> work;
    std::function<void(T)> done;
    std::optional<T> result;

    static void OnWork(uv_work_t* req) {
      auto* job = static_cast<Job*>(req->data);
      bool alive;
      {
        std::lock_guard lock(job->state->mutex);
        alive = job->state->alive;
      }
      if (alive) job->result.emplace(job->work());
      job->work = nullptr;  // drop captures while the owner is known to be alive
      std::lock_guard lock(job->state->mutex);
      if (--job->state->running == 0) job->state->idle.notify_all();
    }
    static void OnDone(uv_work_t* req, int status) {
      std::unique_ptr<Job> job(static_cast<Job*>(req->data));
      bool alive;
      {
        std::lock_guard lock(job->state->mutex);
        alive = job->state->alive;
      }
      if (alive && status == 0 && job->result) job->done(std::move(*job->result));
    }
  };

  ipc::EventLoop& loop_;
  std::shared_ptr<State> state_;
};

}  // namespace berth::content
