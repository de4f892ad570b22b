// TaskManager: the operations that are forwarded to a task's shim.
#include <spdlog/spdlog.h>

#include "common/time.h"
#include "services/runtime/task_internal.h"

namespace berth::runtime {
namespace {

template <typename Req, typename Resp>
using ShimMethod = void (tv2::TaskAsyncClient::*)(const Req&, ipc::CallOptions,
                                                  std::function<void(Result<Resp>)>);

// Calls `method` on the task's shim and answers `done` with `convert(response)`.
template <typename Task, typename Req, typename Resp, typename Out, typename Convert>
void Forward(const std::shared_ptr<Task>& task, ShimMethod<Req, Resp> method, const Req& request,
             std::function<void(Result<Out>)> done, Convert convert,
             std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  ((*task->shim).*method)(request, ShimOptions(task->ns, timeout),
                          [task, done = std::move(done), convert](Result<Resp> response) {
                            if (!response.ok()) return done(response.status());
                            done(convert(*response));
                          });
}

template <typename Out>
auto Empty() {
  return [](const google::protobuf::Empty&) { return Out(); };
}

}  // namespace

void TaskManager::Start(const std::string& ns, rt::StartRequest request,
                        Done<rt::StartResponse> done) {
  WhenReady([=, this] {
    auto task = Find(ns, request.container_id(), true);
    if (!task.ok()) return done(task.status());
    tv2::StartRequest shim_request;
    shim_request.set_id(request.container_id());
    shim_request.set_exec_id(request.exec_id());
    Forward(*task, &tv2::TaskAsyncClient::Start, shim_request, done,
            [](const tv2::StartResponse& r) {
              rt::StartResponse out;
              out.set_pid(r.pid());
              return out;
            });
  });
}

void TaskManager::DeleteProcess(const std::string& ns, rt::DeleteProcessRequest request,
                                Done<rt::DeleteResponse> done) {
  WhenReady([=, this] {
    if (request.exec_id().empty()) {
      return done(Error(Code::kInvalidArgument, "DeleteProcess needs an exec id"));
    }
    auto task = Find(ns, request.container_id(), true);
    if (!task.ok()) return done(task.status());
    tv2::DeleteRequest shim_request;
    shim_request.set_id(request.container_id());
    shim_request.set_exec_id(request.exec_id());
    Forward(*task, &tv2::TaskAsyncClient::Delete, shim_request, done,
            [id = request.exec_id()](const tv2::DeleteResponse& r) {
              rt::DeleteResponse out;
              out.set_id(id);
              out.set_pid(r.pid());
              out.set_exit_status(r.exit_status());
              *out.mutable_exited_at() = r.exited_at();
              return out;
            });
  });
}

void TaskManager::FillProcess(const TaskPtr& task, rt::Process* process) const {
  process->set_container_id(task->id);
  process->set_pid(task->pid);
  process->set_stdin(task->stdin);
  process->set_stdout(task->stdout);
  process->set_stderr(task->stderr);
  process->set_terminal(task->terminal);
  process->set_runtime(task->runtime);
  process->set_bundle(task->paths.bundle);
  if (task->exit) {
    process->set_status(rt::STOPPED);
    process->set_exit_status(task->exit->status);
    SetTimestamp(task->exit->exited_at_nanos, process->mutable_exited_at());
  }
}

void TaskManager::Get(const std::string& ns, rt::GetRequest request, Done<rt::GetResponse> done) {
  WhenReady([=, this] {
    auto task = Find(ns, request.container_id(), false);
    if (!task.ok()) return done(task.status());
    TaskPtr t = *task;
    if (t->phase != Task::Phase::kLive) {
      if (!request.exec_id().empty()) {
        return done(Error(Code::kNotFound, "process {} not found", request.exec_id()));
      }
      rt::GetResponse out;
      FillProcess(t, out.mutable_process());
      if (!t->exit) out.mutable_process()->set_status(rt::UNKNOWN);
      return done(out);
    }
    tv2::StateRequest shim_request;
    shim_request.set_id(request.container_id());
    shim_request.set_exec_id(request.exec_id());
    Forward(t, &tv2::TaskAsyncClient::State, shim_request, done,
            [this, t, exec = request.exec_id()](const tv2::StateResponse& r) {
              rt::GetResponse out;
              rt::Process* p = out.mutable_process();
              FillProcess(t, p);
              p->set_id(exec);
              p->set_pid(r.pid());
              p->set_status(ToStatus(r.status()));
              p->set_stdin(r.stdin());
              p->set_stdout(r.stdout());
              p->set_stderr(r.stderr());
              p->set_terminal(r.terminal());
              p->set_exit_status(r.exit_status());
              *p->mutable_exited_at() = r.exited_at();
              return out;
            });
  });
}

void TaskManager::List(const std::string& ns, Done<rt::ListTasksResponse> done) {
  WhenReady([=, this] {
    std::vector<std::string> ids;
    for (const auto& [key, task] : tasks_) {
      if (task->ns == ns &&
          (task->phase == Task::Phase::kLive || task->phase == Task::Phase::kDead)) {
        ids.push_back(task->id);
      }
    }
    auto out = std::make_shared<rt::ListTasksResponse>();
    out->mutable_tasks()->Reserve(static_cast<int>(ids.size()));
    for (size_t i = 0; i < ids.size(); ++i) out->add_tasks()->set_container_id(ids[i]);
    auto remaining = std::make_shared<size_t>(ids.size());
    if (ids.empty()) return done(*out);
    for (size_t i = 0; i < ids.size(); ++i) {
      rt::GetRequest get;
      get.set_container_id(ids[i]);
      Get(ns, get, [out, remaining, i, done](Result<rt::GetResponse> r) {
        if (r.ok()) {
          *out->mutable_tasks(static_cast<int>(i)) = r->process();
        } else {
          out->mutable_tasks(static_cast<int>(i))->set_status(rt::UNKNOWN);
        }
        if (--*remaining == 0) done(*out);
      });
    }
  });
}

void TaskManager::Kill(const std::string& ns, rt::KillRequest request,
                       Done<rt::KillResponse> done) {
  WhenReady([=, this] {
    auto task = Find(ns, request.container_id(), false);
    if (!task.ok()) return done(task.status());
    if ((*task)->phase != Task::Phase::kLive ||
        (request.exec_id().empty() && (*task)->exit.has_value())) {
      return done(
          Error(Code::kNotFound, "task {}: process already finished", request.container_id()));
    }
    tv2::KillRequest shim_request;
    shim_request.set_id(request.container_id());
    shim_request.set_exec_id(request.exec_id());
    shim_request.set_signal(request.signal() == 0 ? 15 : request.signal());
    shim_request.set_all(request.all());
    Forward(*task, &tv2::TaskAsyncClient::Kill, shim_request, done, Empty<rt::KillResponse>());
  });
}

void TaskManager::Exec(const std::string& ns, rt::ExecProcessRequest request,
                       Done<rt::ExecProcessResponse> done) {
  WhenReady([=, this] {
    if (request.exec_id().empty())
      return done(Error(Code::kInvalidArgument, "an exec id is required"));
    auto task = Find(ns, request.container_id(), true);
    if (!task.ok()) return done(task.status());
    tv2::ExecProcessRequest shim_request;
    shim_request.set_id(request.container_id());
    shim_request.set_exec_id(request.exec_id());
    shim_request.set_terminal(request.terminal());
    shim_request.set_stdin(request.stdin());
    shim_request.set_stdout(request.stdout());
    shim_request.set_stderr(request.stderr());
    *shim_request.mutable_spec() = request.spec();
    Forward(*task, &tv2::TaskAsyncClient::Exec, shim_request, done,
            Empty<rt::ExecProcessResponse>());
  });
}

void TaskManager::ResizePty(const std::string& ns, rt::ResizePtyRequest request,
                            Done<rt::ResizePtyResponse> done) {
  WhenReady([=, this] {
    auto task = Find(ns, request.container_id(), true);
    if (!task.ok()) return done(task.status());
    tv2::ResizePtyRequest shim_request;
    shim_request.set_id(request.container_id());
    shim_request.set_exec_id(request.exec_id());
    shim_request.set_width(request.width());
    shim_request.set_height(request.height());
    Forward(*task, &tv2::TaskAsyncClient::ResizePty, shim_request, done,
            Empty<rt::ResizePtyResponse>());
  });
}

void TaskManager::CloseIO(const std::string& ns, rt::CloseIORequest request,
                          Done<rt::CloseIOResponse> done) {
  WhenReady([=, this] {
    auto task = Find(ns, request.container_id(), true);
    if (!task.ok()) return done(task.status());
    tv2::CloseIORequest shim_request;
    shim_request.set_id(request.container_id());
    shim_request.set_exec_id(request.exec_id());
    shim_request.set_stdin(request.stdin());
    Forward(*task, &tv2::TaskAsyncClient::CloseIO, shim_request, done,
            Empty<rt::CloseIOResponse>());
  });
}

void TaskManager::Pause(const std::string& ns, rt::PauseTaskRequest request,
                        Done<rt::PauseTaskResponse> done) {
  WhenReady([=, this] {
    auto task = Find(ns, request.container_id(), true);
    if (!task.ok()) return done(task.status());
    tv2::PauseRequest shim_request;
    shim_request.set_id(request.container_id());
    Forward(*task, &tv2::TaskAsyncClient::Pause, shim_request, done,
            Empty<rt::PauseTaskResponse>());
  });
}

void TaskManager::Resume(const std::string& ns, rt::ResumeTaskRequest request,
                         Done<rt::ResumeTaskResponse> done) {
  WhenReady([=, this] {
    auto task = Find(ns, request.container_id(), true);
    if (!task.ok()) return done(task.status());
    tv2::ResumeRequest shim_request;
    shim_request.set_id(request.container_id());
    Forward(*task, &tv2::TaskAsyncClient::Resume, shim_request, done,
            Empty<rt::ResumeTaskResponse>());
  });
}

void TaskManager::ListPids(const std::string& ns, rt::ListPidsRequest request,
                           Done<rt::ListPidsResponse> done) {
  WhenReady([=, this] {
    auto task = Find(ns, request.container_id(), true);
    if (!task.ok()) return done(task.status());
    tv2::PidsRequest shim_request;
    shim_request.set_id(request.container_id());
    Forward(*task, &tv2::TaskAsyncClient::Pids, shim_request, done, [](const tv2::PidsResponse& r) {
      rt::ListPidsResponse out;
      for (const auto& p : r.processes()) {
        auto* info = out.add_processes();
        info->set_pid(p.pid());
        *info->mutable_info() = p.info();
      }
      return out;
    });
  });
}

void TaskManager::Update(const std::string& ns, rt::UpdateTaskRequest request,
                         Done<rt::UpdateTaskResponse> done) {
  WhenReady([=, this] {
    auto task = Find(ns, request.container_id(), true);
    if (!task.ok()) return done(task.status());
    tv2::UpdateTaskRequest shim_request;
    shim_request.set_id(request.container_id());
    *shim_request.mutable_resources() = request.resources();
    shim_request.mutable_annotations()->insert(request.annotations().begin(),
                                               request.annotations().end());
    Forward(*task, &tv2::TaskAsyncClient::Update, shim_request, done,
            Empty<rt::UpdateTaskResponse>());
  });
}

void TaskManager::Metrics(const std::string& ns, rt::MetricsRequest request,
                          Done<rt::MetricsResponse> done) {
  WhenReady([=, this] {
    std::vector<TaskPtr> selected;
    for (const auto& [key, task] : tasks_) {
      if (task->ns != ns || task->phase != Task::Phase::kLive) continue;
      bool match = request.filters().empty();
      for (const auto& f : request.filters()) {
        match = match || f == task->id || f == "id==" + task->id;
      }
      if (match) selected.push_back(task);
    }
    auto out = std::make_shared<rt::MetricsResponse>();
    auto remaining = std::make_shared<size_t>(selected.size());
    if (selected.empty()) return done(*out);
    for (const auto& task : selected) {
      tv2::StatsRequest stats;
      stats.set_id(task->id);
      task->shim->Stats(stats, ShimOptions(ns),
                        [out, remaining, task, done](Result<tv2::StatsResponse> r) {
                          if (!r.ok()) {
                            spdlog::warn("stats of id={}: {}", task->id, r.status().message());
                          } else {
                            rt::Metric* m = out->add_metrics();
                            m->set_id(task->id);
                            *m->mutable_data() = r->stats();
                            SetTimestamp(NowUnixNanos(), m->mutable_timestamp());
                          }
                          if (--*remaining == 0) done(*out);
                        });
    }
  });
}

void TaskManager::Wait(const std::string& ns, rt::WaitRequest request,
                       Done<rt::WaitResponse> done) {
  WhenReady([=, this] {
    auto task = Find(ns, request.container_id(), false);
    if (!task.ok()) return done(task.status());
    TaskPtr t = *task;
    if (request.exec_id().empty()) {
      if (t->exit) {
        rt::WaitResponse out;
        out.set_exit_status(t->exit->status);
        SetTimestamp(t->exit->exited_at_nanos, out.mutable_exited_at());
        return done(out);
      }
      t->waiters.push_back(done);
      return;
    }
    if (t->phase != Task::Phase::kLive) {
      return done(Error(Code::kNotFound, "process {} not found", request.exec_id()));
    }
    tv2::WaitRequest shim_request;
    shim_request.set_id(request.container_id());
    shim_request.set_exec_id(request.exec_id());
    Forward(
        t, &tv2::TaskAsyncClient::Wait, shim_request, done,
        [](const tv2::WaitResponse& r) {
          rt::WaitResponse out;
          out.set_exit_status(r.exit_status());
          *out.mutable_exited_at() = r.exited_at();
          return out;
        },
        std::chrono::milliseconds(0));
  });
}

void TaskManager::Log(const std::string& ns, const std::string& id, Done<LogInfo> done) {
  WhenReady([=, this] {
    auto task = Find(ns, id, false);
    if (!task.ok()) return done(task.status());
    done(LogInfo{(*task)->paths.LogFile(), !(*task)->exit.has_value()});
  });
}

}  // namespace berth::runtime
