#include "services/snapshot/work_queue.h"

#include <memory>

namespace berth::snapshot {

struct WorkQueue::Job {
  uv_work_t req;
  WorkQueue* queue;
  std::function<void()> work;
};

WorkQueue::~WorkQueue() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return running_ == 0; });
}

void WorkQueue::Post(std::function<void()> work) {
  auto* job = new Job{{}, this, std::move(work)};
  job->req.data = job;
  {
    std::lock_guard lock(mutex_);
    ++running_;
  }
  uv_queue_work(loop_.uv(), &job->req, &WorkQueue::OnWork, &WorkQueue::OnDone);
}

void WorkQueue::OnWork(uv_work_t* req) {
  auto* job = static_cast<Job*>(req->data);
  job->work();
  job->work = nullptr;
  WorkQueue* queue = job->queue;
  std::lock_guard lock(queue->mutex_);
  if (--queue->running_ == 0) queue->idle_.notify_all();
}

void WorkQueue::OnDone(uv_work_t* req, int) { delete static_cast<Job*>(req->data); }

}  // namespace berth::snapshot
