// TaskService: lookups, State, Start/Delete dispatch and the small RPCs.
#include "shim/task_service.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "containerd/events/task.pb.h"
#include "containerd/runc/options/oci.pb.h"
#include "shim/cgroup_stats.h"

namespace berth::shim {

namespace events = containerd::events;
namespace types = containerd::v1::types;

void SetTimestamp(google::protobuf::Timestamp* ts, int64_t unix_nanos) {
  ts->set_seconds(unix_nanos / 1'000'000'000);
  ts->set_nanos(static_cast<int32_t>(unix_nanos % 1'000'000'000));
}

const char* StateName(ProcessState state) {
  switch (state) {
    case ProcessState::kCreated:
      return "created";
    case ProcessState::kRunning:
      return "running";
    case ProcessState::kPaused:
      return "paused";
    case ProcessState::kStopped:
      return "stopped";
  }
  return "unknown";
}

TaskService::TaskService(ipc::EventLoop& loop, Reaper& reaper, EventSink* events,
                         TaskServiceOptions options, std::function<void()> on_shutdown)
    : loop_(loop),
      reaper_(reaper),
      events_(events),
      options_(std::move(options)),
      on_shutdown_(std::move(on_shutdown)) {}

TaskService::~TaskService() { *alive_ = false; }

void TaskService::Publish(const std::string& topic, const google::protobuf::Message& event) {
  if (events_ != nullptr) events_->Publish(topic, event);
}

Status TaskService::CheckId(const std::string& id) const {
  if (!init_ || id != id_) return Error(Code::kNotFound, "container {} not found", id);
  return Status::Ok();
}

Result<Process*> TaskService::Find(const std::string& id, const std::string& exec_id) {
  BERTH_RETURN_IF_ERROR(CheckId(id));
  if (exec_id.empty()) return init_.get();
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return Error(Code::kNotFound, "exec {} not found in {}", exec_id, id);
  return it->second.get();
}

void TaskService::State(const task::StateRequest& request, ipc::Reply<task::StateResponse> reply) {
  auto process = Find(request.id(), request.exec_id());
  if (!process.ok()) return reply.Fail(process.status());
  const Process* p = *process;
  task::StateResponse response;
  response.set_id(request.exec_id().empty() ? id_ : request.exec_id());
  response.set_exec_id(request.exec_id());
  response.set_bundle(bundle_);
  response.set_pid(static_cast<uint32_t>(p->pid));
  switch (p->state) {
    case ProcessState::kCreated:
      response.set_status(types::CREATED);
      break;
    case ProcessState::kRunning:
      response.set_status(types::RUNNING);
      break;
    case ProcessState::kPaused:
      response.set_status(types::PAUSED);
      break;
    case ProcessState::kStopped:
      response.set_status(types::STOPPED);
      break;
  }
  response.set_stdin(p->stdio.in);
  response.set_stdout(p->stdio.out);
  response.set_stderr(p->stdio.err);
  response.set_terminal(p->stdio.terminal);
  if (p->stopped()) {
    response.set_exit_status(p->exit_status);
    SetTimestamp(response.mutable_exited_at(), p->exited_at_ns);
  }
  reply.Ok(response);
}

void TaskService::Start(const task::StartRequest& request, ipc::Reply<task::StartResponse> reply) {
  auto process = Find(request.id(), request.exec_id());
  if (!process.ok()) return reply.Fail(process.status());
  if ((*process)->is_init()) return StartInit(*process, std::move(reply));
  StartExec(*process, std::move(reply));
}

void TaskService::Delete(const task::DeleteRequest& request,
                         ipc::Reply<task::DeleteResponse> reply) {
  auto process = Find(request.id(), request.exec_id());
  if (!process.ok()) return reply.Fail(process.status());
  Process* p = *process;
  if (p->is_init()) return DeleteInit(std::move(reply));
  if (p->alive() || p->held_exit) {
    return reply.Fail(
        Error(Code::kFailedPrecondition, "cannot delete exec {} while it runs", p->exec_id));
  }
  task::DeleteResponse response;
  response.set_pid(static_cast<uint32_t>(p->pid));
  response.set_exit_status(p->exit_status);
  if (p->stopped()) SetTimestamp(response.mutable_exited_at(), p->exited_at_ns);
  execs_.erase(request.exec_id());
  ScheduleTrim();
  reply.Ok(response);
}

void TaskService::Pids(const task::PidsRequest& request, ipc::Reply<task::PidsResponse> reply) {
  if (Status s = CheckId(request.id()); !s.ok()) return reply.Fail(s);
  std::weak_ptr<bool> alive = alive_;
  runtime_->Ps(id_, [this, alive, reply](Result<std::vector<pid_t>> pids) {
    if (!pids.ok()) return reply.Fail(pids.status());
    if (!alive.lock()) return reply.Fail(Error(Code::kUnavailable, "shim shutting down"));
    task::PidsResponse response;
    for (pid_t pid : *pids) {
      auto* info = response.add_processes();
      info->set_pid(static_cast<uint32_t>(pid));
      for (const auto& [exec_id, exec] : execs_) {
        if (exec->pid != pid) continue;
        containerd::runc::v1::ProcessDetails details;
        details.set_exec_id(exec_id);
        info->mutable_info()->set_type_url("containerd.runc.v1.ProcessDetails");
        details.SerializeToString(info->mutable_info()->mutable_value());
      }
    }
    reply.Ok(response);
  });
}

void TaskService::Pause(const task::PauseRequest& request, ipc::Reply<Empty> reply) {
  if (Status s = CheckId(request.id()); !s.ok()) return reply.Fail(s);
  if (init_->state != ProcessState::kRunning || init_->held_exit) {
    return reply.Fail(Error(Code::kFailedPrecondition, "cannot pause container {} in state {}", id_,
                            StateName(init_->state)));
  }
  std::weak_ptr<bool> alive = alive_;
  runtime_->Pause(id_, [this, alive, reply](Status s) {
    if (!s.ok() || !alive.lock() || !init_) return reply.Fail(s);
    if (init_->state == ProcessState::kRunning) init_->state = ProcessState::kPaused;
    events::TaskPaused event;
    event.set_container_id(id_);
    Publish("/tasks/paused", event);
    reply.Ok(Empty());
  });
}

void TaskService::Resume(const task::ResumeRequest& request, ipc::Reply<Empty> reply) {
  if (Status s = CheckId(request.id()); !s.ok()) return reply.Fail(s);
  if (init_->state != ProcessState::kPaused) {
    return reply.Fail(Error(Code::kFailedPrecondition, "cannot resume container {} in state {}",
                            id_, StateName(init_->state)));
  }
  std::weak_ptr<bool> alive = alive_;
  runtime_->Resume(id_, [this, alive, reply](Status s) {
    if (!s.ok() || !alive.lock() || !init_) return reply.Fail(s);
    if (init_->state == ProcessState::kPaused) init_->state = ProcessState::kRunning;
    events::TaskResumed event;
    event.set_container_id(id_);
    Publish("/tasks/resumed", event);
    reply.Ok(Empty());
  });
}

void TaskService::Checkpoint(const task::CheckpointTaskRequest& request, ipc::Reply<Empty> reply) {
  reply.Fail(Error(Code::kUnimplemented, "checkpoint is not supported by berth-shim"));
}

void TaskService::ResizePty(const task::ResizePtyRequest& request, ipc::Reply<Empty> reply) {
  auto process = Find(request.id(), request.exec_id());
  if (!process.ok()) return reply.Fail(process.status());
  if ((*process)->relay) {
    Status s = (*process)->relay->Resize(request.width(), request.height());
    if (!s.ok()) return reply.Fail(s);
  }
  reply.Ok(Empty());
}

void TaskService::CloseIO(const task::CloseIORequest& request, ipc::Reply<Empty> reply) {
  auto process = Find(request.id(), request.exec_id());
  if (!process.ok()) return reply.Fail(process.status());
  if (request.stdin()) {
    (*process)->stdin_keeper.reset();
    if ((*process)->relay) (*process)->relay->CloseStdin();
  }
  reply.Ok(Empty());
}

void TaskService::Update(const task::UpdateTaskRequest& request, ipc::Reply<Empty> reply) {
  if (Status s = CheckId(request.id()); !s.ok()) return reply.Fail(s);
  if (init_->stopped()) {
    return reply.Fail(Error(Code::kFailedPrecondition, "container {} is stopped", id_));
  }
  if (request.resources().value().empty()) {
    return reply.Fail(Error(Code::kInvalidArgument, "update: no resources given"));
  }
  runtime_->Update(id_, request.resources().value(),
                   [reply](Status s) { s.ok() ? reply.Ok(Empty()) : reply.Fail(s); });
}

void TaskService::Stats(const task::StatsRequest& request, ipc::Reply<task::StatsResponse> reply) {
  if (Status s = CheckId(request.id()); !s.ok()) return reply.Fail(s);
  if (init_->pid <= 0) return reply.Fail(Error(Code::kFailedPrecondition, "no init process"));
  auto stats = ReadCgroupStats(init_->pid);
  if (!stats.ok()) return reply.Fail(stats.status());
  task::StatsResponse response;
  *response.mutable_stats() = std::move(stats).value();
  reply.Ok(response);
}

void TaskService::Connect(const task::ConnectRequest& request,
                          ipc::Reply<task::ConnectResponse> reply) {
  task::ConnectResponse response;
  response.set_shim_pid(static_cast<uint32_t>(::getpid()));
  if (init_ && (request.id().empty() || request.id() == id_)) {
    response.set_task_pid(static_cast<uint32_t>(init_->pid));
  }
  reply.Ok(response);
}

void TaskService::Shutdown(const task::ShutdownRequest& request, ipc::Reply<Empty> reply) {
  if ((init_ || creating_) && !request.now()) return reply.Ok(Empty());  // the container lives
  spdlog::info("shutdown id={}", id_);
  reply.Ok(Empty());
  if (on_shutdown_) loop_.Post(on_shutdown_);
}

}  // namespace berth::shim
