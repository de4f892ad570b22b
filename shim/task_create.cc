// TaskService: Create, Start (init) and Delete (init) — the container's lifecycle.
#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "containerd/events/task.pb.h"
#include "shim/bundle_files.h"
#include "shim/console.h"
#include "shim/mounts.h"
#include "shim/runtime_options.h"
#include "shim/task_service.h"

namespace berth::shim {

namespace events = containerd::events;

// What a Create in flight holds until the runtime answers.
struct CreateState {
  task::CreateTaskRequest request;
  std::optional<ConsoleSocket> console;
  UniqueFd stdin_keeper;
  std::vector<std::unique_ptr<LogCopier>> logs;
  Reaper::Clock::time_point started_after;  // just before `runtime create`
};

Status TaskService::PrepareCreate(const task::CreateTaskRequest& request) {
  if (init_ || creating_) {
    return Error(Code::kAlreadyExists, "container {} already exists in this shim", id_);
  }
  if (request.id().empty()) return Error(Code::kInvalidArgument, "create: empty container id");
  if (!options_.id.empty() && request.id() != options_.id) {
    return Error(Code::kInvalidArgument, "this shim serves container {}, not {}", options_.id,
                 request.id());
  }
  if (request.bundle().empty() || request.bundle()[0] != '/') {
    return Error(Code::kInvalidArgument, "create: bundle must be an absolute path");
  }
  if (!request.checkpoint().empty() || !request.parent_checkpoint().empty()) {
    return Error(Code::kUnimplemented, "restoring from a checkpoint is not supported");
  }
  RuntimeConfig config = options_.runtime;
  BERTH_RETURN_IF_ERROR(ApplyRuntimeOptions(request.options(), &config));
  BERTH_RETURN_IF_ERROR(config.Resolve());
  if (config.root.empty() && options_.default_root) {
    config.root = DefaultRuntimeRoot(config.binary, options_.ns);
  }
  config.log_path = request.bundle() + "/" + kRuntimeLogFile;
  runtime_ = std::make_unique<OciRuntime>(loop_.uv(), reaper_, std::move(config));
  id_ = request.id();
  bundle_ = request.bundle();
  return Status::Ok();
}

void TaskService::Create(const task::CreateTaskRequest& request,
                         ipc::Reply<task::CreateTaskResponse> reply) {
  spdlog::debug("create id={} bundle={} terminal={}", request.id(), request.bundle(),
                request.terminal());
  if (Status s = PrepareCreate(request); !s.ok()) return reply.Fail(s);
  std::vector<MountSpec> mounts;
  for (const auto& m : request.rootfs()) {
    mounts.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
  }
  std::string rootfs = bundle_ + "/rootfs";
  if (Status s = MountAll(mounts, rootfs); !s.ok()) return reply.Fail(s);
  rootfs_mounted_ = !mounts.empty();

  auto state = std::make_shared<CreateState>();
  state->request = request;
  RuntimeStdio stdio;
  ProcessStdio io;
  Status opened;
  if (request.terminal()) {
    auto console = ConsoleSocket::Create();
    if (console.ok()) state->console.emplace(std::move(console).value());
    opened = console.status();
  } else {
    auto process_io =
        OpenProcessStdio({request.stdin(), request.stdout(), request.stderr()}, loop_.uv());
    if (process_io.ok()) io = std::move(process_io).value();
    opened = process_io.status();
    stdio = {io.in.get(), io.out.get(), io.err.get()};
    state->stdin_keeper = std::move(io.keeper);
    state->logs = std::move(io.logs);
  }
  if (!opened.ok()) return CreateDone(opened, state, reply);
  creating_ = true;
  std::weak_ptr<bool> alive = alive_;
  state->started_after = Reaper::Clock::now();
  runtime_->Create(id_, bundle_, bundle_ + "/" + kInitPidFile,
                   state->console ? state->console->path() : "", stdio,
                   [this, alive, state, reply](Status s) {
                     if (alive.lock()) CreateDone(std::move(s), state, reply);
                   });
  // The runtime child holds its own copies of the stdio now. While it works: how `delete` can
  // reach the runtime without the daemon.
  Status recorded = WriteRuntimeRecord(bundle_, runtime_->config());
  if (!recorded.ok()) spdlog::warn("id={}: {}", id_, recorded.ToString());
}

void TaskService::CreateDone(Status status, std::shared_ptr<CreateState> state,
                             ipc::Reply<task::CreateTaskResponse> reply) {
  creating_ = false;
  auto init = std::make_unique<Process>();
  const auto& request = state->request;
  init->stdio = {request.stdin(), request.stdout(), request.stderr(), request.terminal()};
  init->stdin_keeper = std::move(state->stdin_keeper);
  init->logs = std::move(state->logs);
  init->started_after = state->started_after;
  if (status.ok()) {
    auto pid = ReadPidFile(bundle_ + "/" + kInitPidFile);
    status = pid.status();
    if (pid.ok()) init->pid = *pid;
  }
  if (status.ok() && state->console) {
    auto master = state->console->ReceiveMaster();
    status = master.status();
    if (master.ok()) {
      auto relay = PtyRelay::Create(loop_.uv(), std::move(master).value(), init->stdio);
      status = relay.status();
      if (relay.ok()) init->relay = std::move(relay).value();
    }
  }
  if (!status.ok()) {
    spdlog::warn("create failed id={}: {}", id_, status.ToString());
    if (init->pid > 0) runtime_->Delete(id_, true, [](Status) {});
    if (rootfs_mounted_ && UnmountAll(bundle_ + "/rootfs").ok()) rootfs_mounted_ = false;
    return reply.Fail(status);
  }
  init_ = std::move(init);
  shared_pid_ns_ = !HasOwnPidNamespace(bundle_);
  WatchExit(init_.get());
  events::TaskCreate event;
  event.set_container_id(id_);
  event.set_bundle(bundle_);
  event.mutable_rootfs()->CopyFrom(request.rootfs());
  event.mutable_io()->set_stdin(request.stdin());
  event.mutable_io()->set_stdout(request.stdout());
  event.mutable_io()->set_stderr(request.stderr());
  event.mutable_io()->set_terminal(request.terminal());
  event.set_pid(static_cast<uint32_t>(init_->pid));
  Publish("/tasks/create", event);
  spdlog::info("created id={} pid={}", id_, init_->pid);
  ScheduleTrim();  // setup garbage (runtime output, JSON) goes back to the kernel
  task::CreateTaskResponse response;
  response.set_pid(static_cast<uint32_t>(init_->pid));
  reply.Ok(response);
  // OOM notifications: needed from Start on, so set up after answering.
  std::weak_ptr<bool> alive = alive_;
  auto oom = OomWatcher::Create(loop_.uv(), init_->pid, [this, alive] {
    if (!alive.lock()) return;
    events::TaskOOM oom_event;
    oom_event.set_container_id(id_);
    Publish("/tasks/oom", oom_event);
  });
  if (oom.ok()) {
    oom_ = std::move(oom).value();
  } else {
    spdlog::debug("no OOM notifications id={}: {}", id_, oom.status().ToString());
  }
}

void TaskService::StartInit(Process* init, ipc::Reply<task::StartResponse> reply) {
  if (init->state != ProcessState::kCreated || init->starting) {
    return reply.Fail(Error(Code::kFailedPrecondition, "cannot start container {} in state {}", id_,
                            init->starting ? "starting" : StateName(init->state)));
  }
  init->starting = true;
  std::weak_ptr<bool> alive = alive_;
  runtime_->Start(id_, [this, alive, reply](Status s) {
    if (!alive.lock() || !init_) return;
    init_->starting = false;
    if (s.ok()) {
      if (!init_->held_exit) init_->state = ProcessState::kRunning;
      events::TaskStart event;
      event.set_container_id(id_);
      event.set_pid(static_cast<uint32_t>(init_->pid));
      Publish("/tasks/start", event);
      task::StartResponse response;
      response.set_pid(static_cast<uint32_t>(init_->pid));
      reply.Ok(response);
    } else {
      reply.Fail(s);
    }
    if (init_->held_exit) {
      int status = *init_->held_exit;
      init_->held_exit.reset();
      OnExit(init_.get(), status);
    }
  });
}

void TaskService::DeleteInit(ipc::Reply<task::DeleteResponse> reply) {
  if (init_->deleting) {
    return reply.Fail(Error(Code::kFailedPrecondition, "container {} is being deleted", id_));
  }
  if (init_->alive() || init_->held_exit || AnyExecAlive()) {
    return reply.Fail(Error(Code::kFailedPrecondition,
                            "cannot delete container {} while it runs: kill it first", id_));
  }
  init_->deleting = true;
  // A created init is killed by the delete: its exit is not a task exit.
  if (init_->state == ProcessState::kCreated) reaper_.Unwatch(init_->pid);
  std::weak_ptr<bool> alive = alive_;
  runtime_->Delete(id_, true, [this, alive, reply](Status s) {
    if (!alive.lock() || !init_) return;
    if (!s.ok()) {
      init_->deleting = false;
      return reply.Fail(s);
    }
    FinishDeleteInit(reply);
  });
}

void TaskService::FinishDeleteInit(ipc::Reply<task::DeleteResponse> reply) {
  if (rootfs_mounted_) {
    Status s = UnmountAll(bundle_ + "/rootfs");
    if (!s.ok()) {
      init_->deleting = false;
      return reply.Fail(s);
    }
    rootfs_mounted_ = false;
  }
  reaper_.Unwatch(init_->pid);
  task::DeleteResponse response;
  response.set_pid(static_cast<uint32_t>(init_->pid));
  response.set_exit_status(init_->exit_status);
  if (init_->stopped()) SetTimestamp(response.mutable_exited_at(), init_->exited_at_ns);
  events::TaskDelete event;
  event.set_container_id(id_);
  event.set_pid(response.pid());
  event.set_exit_status(response.exit_status());
  if (response.has_exited_at()) *event.mutable_exited_at() = response.exited_at();
  Publish("/tasks/delete", event);
  spdlog::info("deleted id={} exit_status={}", id_, response.exit_status());
  oom_.reset();
  execs_.clear();
  init_.reset();
  ScheduleTrim();
  reply.Ok(response);
}

}  // namespace berth::shim
