// TaskManager: Delete (a live task through its shim, or one whose shim is gone).
#include <spdlog/spdlog.h>

#include "containerd/events/task.pb.h"
#include "services/runtime/task_internal.h"

namespace berth::runtime {

void TaskManager::Delete(const std::string& ns, rt::DeleteTaskRequest request,
                         Done<rt::DeleteResponse> done) {
  WhenReady([=, this] {
    auto found = Find(ns, request.container_id(), false);
    if (!found.ok()) return done(found.status());
    TaskPtr task = *found;
    if (task->phase == Task::Phase::kDead) {
      if (task->cleaning) {
        return done(
            Error(Code::kFailedPrecondition, "task {} is being cleaned up; retry", task->id));
      }
      return DeleteDead(task, done);
    }
    if (task->exit) return DeleteLive(task, done);
    // Not known to have exited: only a task that never started may go.
    tv2::StateRequest state;
    state.set_id(task->id);
    task->shim->State(state, ShimOptions(ns), [this, task, done](Result<tv2::StateResponse> r) {
      if (!r.ok()) return done(r.status());
      if (task->phase != Task::Phase::kLive) {
        return done(Error(Code::kFailedPrecondition, "task {} changed; retry", task->id));
      }
      rt::Status status = ToStatus(r->status());
      if (status == rt::RUNNING || status == rt::PAUSED || status == rt::PAUSING) {
        return done(Error(Code::kFailedPrecondition,
                          "task {} is running: kill it first (or use rm -f)", task->id));
      }
      DeleteLive(task, done);
    });
  });
}

void TaskManager::DeleteLive(TaskPtr task, Done<rt::DeleteResponse> done) {
  task->phase = Task::Phase::kDeleting;
  tv2::DeleteRequest request;
  request.set_id(task->id);
  task->shim->Delete(
      request, ShimOptions(task->ns), [this, task, done](Result<tv2::DeleteResponse> response) {
        if (!response.ok()) {
          task->phase = Task::Phase::kLive;
          Monitor(task);
          return done(response.status());
        }
        rt::DeleteResponse out;
        out.set_id(task->id);
        out.set_pid(response->pid());
        out.set_exit_status(response->exit_status());
        *out.mutable_exited_at() = response->exited_at();
        RecordExit(task, response->exit_status(), TimestampNanos(response->exited_at()), false);
        tv2::ShutdownRequest shutdown;
        shutdown.set_id(task->id);
        task->shim->Shutdown(shutdown, ShimOptions(task->ns, std::chrono::seconds(3)),
                             [this, task, out, done](Result<google::protobuf::Empty>) {
                               Detach(task);
                               Blocking<bool>(
                                   [paths = task->paths]() -> Result<bool> {
                                     BERTH_RETURN_IF_ERROR(RemoveBundle(paths));
                                     return true;
                                   },
                                   [this, task, out, done](Result<bool> removed) {
                                     Remove(task);
                                     if (!removed.ok()) {
                                       spdlog::warn("remove bundle of id={}: {}", task->id,
                                                    removed.status().message());
                                     }
                                     done(out);
                                   });
                             });
      });
}

void TaskManager::DeleteDead(TaskPtr task, Done<rt::DeleteResponse> done) {
  task->phase = Task::Phase::kDeleting;
  Blocking<bool>(
      [paths = task->paths]() -> Result<bool> {
        BERTH_RETURN_IF_ERROR(RemoveBundle(paths));
        return true;
      },
      [this, task, done](Result<bool> removed) {
        if (!removed.ok()) {
          task->phase = Task::Phase::kDead;
          return done(removed.status());
        }
        Remove(task);
        rt::DeleteResponse out;
        out.set_id(task->id);
        out.set_pid(task->pid);
        ExitRecord exit = task->exit.value_or(ExitRecord{255, 0, task->pid});
        out.set_exit_status(exit.status);
        SetTimestamp(exit.exited_at_nanos, out.mutable_exited_at());
        containerd::events::TaskDelete event;
        event.set_container_id(task->id);
        event.set_id(task->id);
        event.set_pid(task->pid);
        event.set_exit_status(exit.status);
        *event.mutable_exited_at() = out.exited_at();
        if (publish_) publish_(task->ns, "/tasks/delete", event);
        done(out);
      });
}

}  // namespace berth::runtime
