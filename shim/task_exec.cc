// TaskService: Exec (register) and starting an exec (`runtime exec --detach`).
#include <signal.h>

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "containerd/events/task.pb.h"
#include "shim/bundle_files.h"
#include "shim/console.h"
#include "shim/task_service.h"

namespace berth::shim {

namespace events = containerd::events;

namespace {

// Exec ids name files in the bundle: no separators, no dot names, bounded length.
Status CheckExecId(const std::string& exec_id) {
  if (exec_id.empty() || exec_id.size() > 128 || exec_id == "." || exec_id == ".." ||
      exec_id.find('/') != std::string::npos || exec_id.find('\0') != std::string::npos) {
    return Error(Code::kInvalidArgument, "invalid exec id \"{}\"", exec_id);
  }
  return Status::Ok();
}

}  // namespace

struct ExecStartState {
  std::string process_file;
  std::string pid_file;
  std::optional<ConsoleSocket> console;
};

void TaskService::Exec(const task::ExecProcessRequest& request, ipc::Reply<Empty> reply) {
  if (Status s = CheckId(request.id()); !s.ok()) return reply.Fail(s);
  if (Status s = CheckExecId(request.exec_id()); !s.ok()) return reply.Fail(s);
  if (!init_ || init_->deleting || init_->stopped() || init_->held_exit) {
    return reply.Fail(
        Error(Code::kFailedPrecondition, "container {} must be running to exec", request.id()));
  }
  if (execs_.count(request.exec_id())) {
    return reply.Fail(Error(Code::kAlreadyExists, "exec {} already exists", request.exec_id()));
  }
  if (request.spec().value().empty()) {
    return reply.Fail(Error(Code::kInvalidArgument, "exec {}: no process spec", request.exec_id()));
  }
  auto exec = std::make_unique<Process>();
  exec->exec_id = request.exec_id();
  exec->stdio = {request.stdin(), request.stdout(), request.stderr(), request.terminal()};
  exec->spec_json = request.spec().value();
  execs_.emplace(request.exec_id(), std::move(exec));
  spdlog::debug("exec added id={} exec={}", id_, request.exec_id());
  events::TaskExecAdded event;
  event.set_container_id(id_);
  event.set_exec_id(request.exec_id());
  Publish("/tasks/exec-added", event);
  reply.Ok(Empty());
}

void TaskService::StartExec(Process* exec, ipc::Reply<task::StartResponse> reply) {
  if (exec->state != ProcessState::kCreated || exec->starting) {
    return reply.Fail(Error(Code::kFailedPrecondition, "cannot start exec {} in state {}",
                            exec->exec_id, exec->starting ? "starting" : StateName(exec->state)));
  }
  if (!init_ || init_->state != ProcessState::kRunning || init_->held_exit) {
    return reply.Fail(Error(Code::kFailedPrecondition,
                            "container {} must be running to start exec {}", id_, exec->exec_id));
  }
  auto state = std::make_shared<ExecStartState>();
  state->process_file = bundle_ + "/.exec-" + exec->exec_id + ".json";
  state->pid_file = bundle_ + "/.exec-" + exec->exec_id + ".pid";
  RuntimeStdio stdio;
  ProcessStdio io;
  Status s = WriteFileNoSync(state->process_file, exec->spec_json, 0600);
  if (s.ok() && exec->stdio.terminal) {
    auto console = ConsoleSocket::Create();
    if (console.ok()) state->console.emplace(std::move(console).value());
    s = console.status();
  } else if (s.ok()) {
    auto opened = OpenProcessStdio(exec->stdio, loop_.uv());
    if (opened.ok()) io = std::move(opened).value();
    s = opened.status();
    stdio = {io.in.get(), io.out.get(), io.err.get()};
    exec->stdin_keeper = std::move(io.keeper);
    exec->logs = std::move(io.logs);
  }
  if (!s.ok()) {
    ::unlink(state->process_file.c_str());
    return reply.Fail(s);
  }
  exec->starting = true;
  exec->started_after = Reaper::Clock::now();
  std::weak_ptr<bool> alive = alive_;
  std::string exec_id = exec->exec_id;
  runtime_->Exec(id_, state->process_file, state->pid_file,
                 state->console ? state->console->path() : "", stdio,
                 [this, alive, exec_id, state, reply](Status status) {
                   if (alive.lock()) ExecStarted(exec_id, std::move(status), state, reply);
                 });
}

void TaskService::ExecStarted(const std::string& exec_id, Status status,
                              std::shared_ptr<ExecStartState> state,
                              ipc::Reply<task::StartResponse> reply) {
  ::unlink(state->process_file.c_str());
  auto pid = ReadPidFile(state->pid_file);
  ::unlink(state->pid_file.c_str());
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return reply.Fail(Error(Code::kNotFound, "exec {} is gone", exec_id));
  Process* exec = it->second.get();
  exec->starting = false;
  if (status.ok()) status = pid.status();
  if (status.ok()) exec->pid = *pid;
  if (status.ok() && state->console) {
    auto master = state->console->ReceiveMaster();
    status = master.status();
    if (master.ok()) {
      auto relay = PtyRelay::Create(loop_.uv(), std::move(master).value(), exec->stdio);
      status = relay.status();
      if (relay.ok()) exec->relay = std::move(relay).value();
    }
  }
  if (!status.ok()) {
    spdlog::warn("exec start failed id={} exec={}: {}", id_, exec_id, status.ToString());
    if (exec->pid > 0) ::kill(exec->pid, SIGKILL);
    exec->stdin_keeper.reset();
    exec->report_exit = false;  // no TaskExecStarted went out, so no TaskExit either
    if (exec->pid > 0) {
      WatchExit(exec);
    } else {
      Finalize(exec, 255 << 8);  // never ran: waiters learn it with status 255
    }
    return reply.Fail(status);
  }
  exec->state = ProcessState::kRunning;
  events::TaskExecStarted event;
  event.set_container_id(id_);
  event.set_exec_id(exec_id);
  event.set_pid(static_cast<uint32_t>(exec->pid));
  Publish("/tasks/exec-started", event);
  task::StartResponse response;
  response.set_pid(static_cast<uint32_t>(exec->pid));
  reply.Ok(response);
  // The init died while this exec started: it cannot outlive it.
  if (init_ && init_->held_exit) ::kill(exec->pid, SIGKILL);
  WatchExit(exec);
}

}  // namespace berth::shim
