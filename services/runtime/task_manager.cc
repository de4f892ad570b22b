// TaskManager: construction, Create, and watching shims (exits, dead shims).
#include <fcntl.h>

#include <future>

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "common/time.h"
#include "containerd/events/task.pb.h"
#include "containerd/runc/options/oci.pb.h"
#include "services/runtime/shim_process.h"
#include "services/runtime/task_internal.h"

namespace berth::runtime {

void SetTimestamp(int64_t unix_nanos, google::protobuf::Timestamp* out) {
  out->set_seconds(unix_nanos / 1'000'000'000);
  out->set_nanos(static_cast<int32_t>(unix_nanos % 1'000'000'000));
}

int64_t TimestampNanos(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1'000'000'000 + ts.nanos();
}

TaskManager::TaskManager(ipc::EventLoop& loop, RuntimeConfig config, EventPublisher publish)
    : loop_(loop), config_(std::move(config)), publish_(std::move(publish)) {}

TaskManager::~TaskManager() {
  *alive_ = false;
  {
    std::unique_lock lock(workers_mutex_);
    workers_done_.wait(lock, [this] { return workers_ == 0; });
  }
  // Shim connections and log drains are loop objects: let go of them there. The shims live on.
  auto clear = [this] {
    for (auto& [key, task] : tasks_) Detach(task);
    tasks_.clear();
  };
  if (loop_.InLoopThread()) {
    clear();
    return;
  }
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  loop_.Post([clear, done] {
    clear();
    done->set_value();
  });
  future.wait_for(std::chrono::seconds(5));
}

void TaskManager::WhenReady(std::function<void()> fn) {
  loop_.Dispatch([this, fn = std::move(fn)] {
    if (ready_) {
      fn();
    } else {
      deferred_.push_back(std::move(fn));
    }
  });
}

Result<TaskManager::TaskPtr> TaskManager::Find(const std::string& ns, const std::string& id,
                                               bool need_shim) const {
  auto it = tasks_.find(ns + "/" + id);
  if (it == tasks_.end()) {
    return Error(Code::kNotFound, "task {} not found in namespace {}", id, ns);
  }
  const TaskPtr& task = it->second;
  if (task->phase == Task::Phase::kCreating || task->phase == Task::Phase::kDeleting) {
    return Error(Code::kFailedPrecondition, "task {} is being {}", id,
                 task->phase == Task::Phase::kCreating ? "created" : "deleted");
  }
  if (need_shim && task->phase != Task::Phase::kLive) {
    return Error(Code::kFailedPrecondition, "task {} has no shim any more (it exited)", id);
  }
  return task;
}

void TaskManager::Create(CreateParams params, Done<rt::CreateTaskResponse> done) {
  WhenReady([this, params = std::move(params), done = std::move(done)]() mutable {
    Status valid = ValidateName("namespace", params.ns);
    if (valid.ok()) valid = ValidateName("container id", params.id);
    if (!valid.ok()) return done(valid);
    std::string key = params.ns + "/" + params.id;
    if (tasks_.count(key)) {
      return done(Error(Code::kAlreadyExists, "task {} already exists in namespace {}", params.id,
                        params.ns));
    }
    if (params.runtime.empty()) params.runtime = config_.default_runtime;
    auto task = std::make_shared<Task>();
    task->ns = params.ns;
    task->id = params.id;
    task->runtime = params.runtime;
    task->paths = PathsFor(config_.state_dir, config_.root_dir, params.ns, params.id);
    if (params.log_to_file) {
      if (!params.stdout.empty() || !params.stderr.empty()) {
        return done(Error(Code::kInvalidArgument, "log_to_file excludes stdout and stderr"));
      }
      std::string log = "file://" + task->paths.LogFile();
      if (config_.log_max_size > 0) {  // the shim rotates it (containerd's runc shim ignores it)
        log += "?max-size=" + std::to_string(config_.log_max_size) +
               "&max-files=" + std::to_string(config_.log_max_files);
      }
      params.stdout = params.stderr = log;
    }
    task->stdin = params.stdin;
    task->stdout = params.stdout;
    task->stderr = params.stderr;
    task->terminal = params.terminal;
    tasks_[key] = task;
    ShimContext context{params.ns, params.id, config_.address, config_.events_address,
                        config_.publish_binary};
    // (Copied before the call: the second lambda takes `params` over.)
    std::string spec_json = params.spec_json, runtime = params.runtime;
    Blocking<Started>(
        [paths = task->paths, spec = std::move(spec_json), runtime = std::move(runtime), context,
         dirs = config_.shim_dirs]() -> Result<Started> {
          BERTH_RETURN_IF_ERROR(CreateBundle(paths, spec));
          Started started;
          started.log_fd.reset(::open(paths.LogFifo().c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
          auto run = [&]() -> Status {
            BERTH_ASSIGN_OR_RETURN(started.binary, ResolveShimBinary(runtime, dirs));
            BERTH_ASSIGN_OR_RETURN(started.socket, StartShim(started.binary, context, paths));
            BERTH_RETURN_IF_ERROR(WriteFileAtomic(paths.RuntimeName(), runtime));
            return WriteFileAtomic(paths.ShimBinary(), started.binary);
          }();
          if (!run.ok()) {
            if (!started.binary.empty()) (void)DeleteShim(started.binary, context, paths);
            (void)RemoveBundle(paths);
            return run;
          }
          return started;
        },
        [this, task, params = std::move(params),
         done = std::move(done)](Result<Started> started) mutable {
          FinishCreate(task, std::move(params), std::move(started), std::move(done));
        });
  });
}

void TaskManager::FinishCreate(TaskPtr task, CreateParams params, Result<Started> started,
                               Done<rt::CreateTaskResponse> done) {
  if (!started.ok()) {
    tasks_.erase(task->ns + "/" + task->id);
    return done(started.status());
  }
  task->shim_binary = started->binary;
  Attach(task, started->socket, started->log_fd.release());
  tv2::CreateTaskRequest request;
  request.set_id(task->id);
  request.set_bundle(task->paths.bundle);
  for (auto& m : params.rootfs) *request.add_rootfs() = std::move(m);
  request.set_terminal(params.terminal);
  request.set_stdin(params.stdin);
  request.set_stdout(params.stdout);
  request.set_stderr(params.stderr);
  if (params.options.type_url().empty() && !config_.runc_root.empty() &&
      (task->runtime.find("runc") != std::string::npos ||
       task->runtime.find("berth") != std::string::npos)) {
    containerd::runc::v1::Options options;
    options.set_root(config_.runc_root);
    request.mutable_options()->set_type_url("containerd.runc.v1.Options");
    request.mutable_options()->set_value(options.SerializeAsString());
  } else {
    *request.mutable_options() = params.options;
  }
  task->shim->Create(request, ShimOptions(task->ns),
                     [this, task, done](Result<tv2::CreateTaskResponse> response) {
                       if (!response.ok()) return FailCreate(task, response.status(), done);
                       task->pid = response->pid();
                       task->phase = Task::Phase::kLive;
                       Monitor(task);
                       rt::CreateTaskResponse out;
                       out.set_container_id(task->id);
                       out.set_pid(task->pid);
                       done(out);
                     });
}

void TaskManager::FailCreate(TaskPtr task, Status status, Done<rt::CreateTaskResponse> done) {
  spdlog::warn("create task id={} ns={} failed: {}", task->id, task->ns, status.message());
  tv2::DeleteRequest request;
  request.set_id(task->id);
  // Undo in the shim, stop it, then clean up what it may have left and remove the bundle.
  task->shim->Delete(request, ShimOptions(task->ns, std::chrono::seconds(10)),
                     [this, task, status, done](Result<tv2::DeleteResponse>) {
                       tv2::ShutdownRequest shutdown;
                       shutdown.set_id(task->id);
                       task->shim->Shutdown(
                           shutdown, ShimOptions(task->ns, std::chrono::seconds(3)),
                           [this, task, status, done](Result<google::protobuf::Empty>) {
                             Detach(task);
                             ShimContext context{task->ns, task->id, config_.address,
                                                 config_.events_address, config_.publish_binary};
                             Blocking<bool>(
                                 [task, context]() -> Result<bool> {
                                   (void)DeleteShim(task->shim_binary, context, task->paths);
                                   BERTH_RETURN_IF_ERROR(RemoveBundle(task->paths));
                                   return true;
                                 },
                                 [this, task, status, done](Result<bool>) {
                                   tasks_.erase(task->ns + "/" + task->id);
                                   done(status);
                                 });
                           });
                     });
}

void TaskManager::Attach(const TaskPtr& task, const std::string& socket, int log_fd) {
  task->connection = ipc::AsyncClient::Create(loop_, socket);
  task->shim = std::make_unique<tv2::TaskAsyncClient>(task->connection);
  task->log = std::make_unique<LogDrain>(loop_.uv(), UniqueFd(log_fd), task->id);
}

void TaskManager::Detach(const TaskPtr& task) {
  task->log.reset();
  task->monitoring = false;
  // Callbacks of calls in flight may run inside Close(): they see no shim and stop there.
  auto connection = std::move(task->connection);
  task->shim.reset();
  if (connection) connection->Close();
}

void TaskManager::Monitor(TaskPtr task) {
  if (!task->shim || task->monitoring || task->phase != Task::Phase::kLive || task->exit) return;
  task->monitoring = true;
  spdlog::debug("wait on shim id={} ns={}", task->id, task->ns);
  tv2::WaitRequest request;
  request.set_id(task->id);
  task->shim->Wait(request, ShimOptions(task->ns, std::chrono::milliseconds(0)),
                   [this, task](Result<tv2::WaitResponse> response) {
                     if (!task->shim || task->phase != Task::Phase::kLive) return;
                     task->monitoring = false;
                     if (response.ok()) {
                       RecordExit(task, response->exit_status(),
                                  TimestampNanos(response->exited_at()), true);
                       return;
                     }
                     spdlog::info("lost the wait on shim id={} ns={}: {}", task->id, task->ns,
                                  response.status().message());
                     CheckShim(task);
                   });
}

void TaskManager::CheckShim(TaskPtr task) {
  tv2::ConnectRequest request;
  request.set_id(task->id);
  task->shim->Connect(request, ShimOptions(task->ns, std::chrono::seconds(2)),
                      [this, task](Result<tv2::ConnectResponse> response) {
                        if (!task->shim || task->phase != Task::Phase::kLive) return;
                        if (!response.ok()) return ShimDied(task);
                        // Still there (a transient error): wait again, a little later.
                        loop_.After(100, [this, task, alive = alive_] {
                          if (*alive && task->shim) Monitor(task);
                        });
                      });
}

void TaskManager::ShimDied(TaskPtr task) {
  spdlog::warn("shim of task id={} ns={} is gone; cleaning up", task->id, task->ns);
  Detach(task);
  task->phase = Task::Phase::kDead;
  task->cleaning = true;
  ShimContext context{task->ns, task->id, config_.address, config_.events_address,
                      config_.publish_binary};
  Blocking<ExitRecord>(
      [task, context, known = task->exit]() -> Result<ExitRecord> {
        ExitRecord exit{255, NowUnixNanos(), task->pid};
        if (!task->shim_binary.empty()) {
          auto response = DeleteShim(task->shim_binary, context, task->paths);
          if (response.ok()) {
            exit.status = response->exit_status();
            if (response->has_exited_at())
              exit.exited_at_nanos = TimestampNanos(response->exited_at());
          } else {
            spdlog::warn("shim delete id={}: {}", task->id, response.status().message());
          }
        }
        if (known) return *known;
        if (auto recorded = ReadExit(task->paths)) return *recorded;
        (void)WriteExit(task->paths, exit);
        return exit;
      },
      [this, task, had_exit = task->exit.has_value()](Result<ExitRecord> exit) {
        task->cleaning = false;
        if (had_exit) return;
        containerd::events::TaskExit event;
        event.set_container_id(task->id);
        event.set_id(task->id);
        event.set_pid(exit->pid);
        event.set_exit_status(exit->status);
        SetTimestamp(exit->exited_at_nanos, event.mutable_exited_at());
        if (publish_) publish_(task->ns, "/tasks/exit", event);
        RecordExit(task, exit->status, exit->exited_at_nanos, false);
      });
}

void TaskManager::RecordExit(const TaskPtr& task, uint32_t status, int64_t exited_at,
                             bool persist) {
  if (task->exit) return;
  spdlog::debug("task id={} ns={} exited with status {}", task->id, task->ns, status);
  task->exit = ExitRecord{status, exited_at, task->pid};
  if (persist) {
    Blocking<bool>(
        [paths = task->paths, exit = *task->exit]() -> Result<bool> {
          BERTH_RETURN_IF_ERROR(WriteExit(paths, exit));
          return true;
        },
        [id = task->id](Result<bool> written) {
          if (!written.ok()) spdlog::warn("record exit id={}: {}", id, written.status().message());
        });
  }
  rt::WaitResponse response;
  response.set_exit_status(status);
  SetTimestamp(exited_at, response.mutable_exited_at());
  auto waiters = std::move(task->waiters);
  task->waiters.clear();
  for (auto& waiter : waiters) waiter(response);
}

void TaskManager::Remove(const TaskPtr& task) {
  auto it = tasks_.find(task->ns + "/" + task->id);
  if (it != tasks_.end() && it->second == task) tasks_.erase(it);
}

}  // namespace berth::runtime
