// TaskService: process exits (reaper callbacks), Wait and Kill.
#include <malloc.h>
#include <signal.h>

#include <spdlog/spdlog.h>

#include "common/time.h"
#include "containerd/events/task.pb.h"
#include "shim/bundle_files.h"
#include "shim/task_service.h"

namespace berth::shim {

namespace events = containerd::events;

void TaskService::WatchExit(Process* process) {
  std::weak_ptr<bool> alive = alive_;
  pid_t pid = process->pid;
  std::string exec_id = process->exec_id;
  auto on_exit = [this, alive, pid, exec_id](int wait_status) {
    if (!alive.lock()) return;
    Process* p = nullptr;
    if (exec_id.empty()) {
      if (init_ && init_->pid == pid) p = init_.get();
    } else if (auto it = execs_.find(exec_id); it != execs_.end() && it->second->pid == pid) {
      p = it->second.get();
    }
    if (p != nullptr) OnExit(p, wait_status);
  };
  if (auto status = reaper_.Watch(pid, on_exit, process->started_after)) on_exit(*status);
}

bool TaskService::AnyExecAlive() const {
  for (const auto& [id, exec] : execs_) {
    if (exec->alive() || exec->held_exit) return true;
  }
  return false;
}

void TaskService::OnExit(Process* process, int wait_status) {
  if (process->starting) {
    process->held_exit = wait_status;  // reported once the start answered
    return;
  }
  if (process->is_init() && shared_pid_ns_ && !killed_all_) {
    // Without a pid namespace of its own nothing ends the init's other processes: the shim
    // does (as containerd's runc shim does), then reports the exit.
    killed_all_ = true;
    process->held_exit = wait_status;
    std::weak_ptr<bool> alive = alive_;
    runtime_->Kill(id_, SIGKILL, true, [this, alive](Status s) {
      if (!alive.lock() || !init_ || !init_->held_exit) return;
      if (!s.ok()) spdlog::warn("kill --all after the init exited id={}: {}", id_, s.ToString());
      int status = *init_->held_exit;
      init_->held_exit.reset();
      OnExit(init_.get(), status);
    });
    return;
  }
  if (process->is_init() && AnyExecAlive()) {
    // Execs die with the init (or are killed now when the container shares the host's pid
    // namespace); their exits are published first.
    process->held_exit = wait_status;
    for (auto& [id, exec] : execs_) {
      if (exec->pid > 0 && !exec->stopped()) ::kill(exec->pid, SIGKILL);
    }
    return;
  }
  Finalize(process, wait_status);
  if (!process->is_init()) ReleaseHeldInit();
}

void TaskService::ReleaseHeldInit() {
  if (!init_ || !init_->held_exit || init_->starting || AnyExecAlive()) return;
  int status = *init_->held_exit;
  init_->held_exit.reset();
  Finalize(init_.get(), status);
}

void TaskService::Finalize(Process* process, int wait_status) {
  process->state = ProcessState::kStopped;
  process->exit_status = ExitCodeFromWaitStatus(wait_status);
  process->exited_at_ns = NowUnixNanos();
  process->stdin_keeper.reset();
  if (process->relay) process->relay->ProcessExited();
  for (auto& log : process->logs) log->Drain();  // its last output, before TaskExit goes out
  const std::string& name = process->is_init() ? id_ : process->exec_id;
  spdlog::info("exited id={} process={} pid={} status={}", id_, name, process->pid,
               process->exit_status);
  if (process->is_init()) {
    Status s = WriteExitRecord(bundle_, {process->exit_status, process->exited_at_ns});
    if (!s.ok()) spdlog::warn("cannot record the exit status id={}: {}", id_, s.ToString());
  }
  if (process->report_exit) {
    events::TaskExit event;
    event.set_container_id(id_);
    event.set_id(name);
    event.set_pid(static_cast<uint32_t>(process->pid));
    event.set_exit_status(process->exit_status);
    SetTimestamp(event.mutable_exited_at(), process->exited_at_ns);
    Publish("/tasks/exit", event);
  }
  task::WaitResponse response;
  response.set_exit_status(process->exit_status);
  SetTimestamp(response.mutable_exited_at(), process->exited_at_ns);
  auto waiters = std::move(process->waiters);
  process->waiters.clear();
  for (auto& waiter : waiters) waiter.Ok(response);
}

void TaskService::Wait(const task::WaitRequest& request, ipc::Reply<task::WaitResponse> reply) {
  auto process = Find(request.id(), request.exec_id());
  if (!process.ok()) return reply.Fail(process.status());
  Process* p = *process;
  if (p->stopped()) {
    task::WaitResponse response;
    response.set_exit_status(p->exit_status);
    SetTimestamp(response.mutable_exited_at(), p->exited_at_ns);
    return reply.Ok(response);
  }
  // A waiter whose caller went away (containerd restarted) is dropped at once, so reconnecting
  // clients do not pile them up.
  std::weak_ptr<bool> alive = alive_;
  auto* call = &reply.call();
  call->OnCancel([this, alive, exec_id = p->exec_id, call] {
    if (!alive.lock()) return;
    auto found = Find(id_, exec_id);
    if (!found.ok()) return;
    std::erase_if((*found)->waiters, [call](const auto& w) { return &w.call() == call; });
  });
  p->waiters.push_back(std::move(reply));
}

void TaskService::Kill(const task::KillRequest& request, ipc::Reply<Empty> reply) {
  auto process = Find(request.id(), request.exec_id());
  if (!process.ok()) return reply.Fail(process.status());
  Process* p = *process;
  int signal = request.signal() == 0 ? SIGTERM : static_cast<int>(request.signal());
  spdlog::debug("kill id={} exec={} signal={} all={}", id_, request.exec_id(), signal,
                request.all());
  if (p->stopped()) {
    return reply.Fail(Error(Code::kNotFound, "process already finished"));
  }
  if (p->is_init()) {
    runtime_->Kill(id_, signal, request.all(),
                   [reply](Status s) { s.ok() ? reply.Ok(Empty()) : reply.Fail(s); });
    return;
  }
  if (p->pid <= 0) {
    return reply.Fail(
        Error(Code::kFailedPrecondition, "exec {} has not started", request.exec_id()));
  }
  // The exec is the shim's child until reaped, so its pid cannot have been reused.
  if (::kill(p->pid, signal) != 0) {
    if (errno == ESRCH) return reply.Fail(Error(Code::kNotFound, "process already finished"));
    return reply.Fail(ErrnoStatus(errno, fmt::format("kill {}", p->pid)));
  }
  reply.Ok(Empty());
}

void TaskService::ScheduleTrim() {
  if (trim_scheduled_) return;
  trim_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  // Give freed memory back in one go after a burst of execs instead of after each.
  loop_.After(1000, [this, alive] {
    if (!alive.lock()) return;
    trim_scheduled_ = false;
    ::malloc_trim(0);
  });
}

}  // namespace berth::shim
