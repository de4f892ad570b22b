#pragma once
// TaskService: containerd's shim task API (containerd.task.v2.Task) for one container, on the
// shim's single loop thread. Every RPC that needs the OCI runtime answers when the runtime child
// exits, so requests never block one another (a pending Wait does not delay Kill).
//
// Semantics follow containerd's runc shim:
//   Create    mounts `rootfs` on <bundle>/rootfs, opens stdio, `runtime create`; answers the pid.
//   Start     init: `runtime start`; exec: `runtime exec --detach`. FAILED_PRECONDITION unless
//             the process is CREATED (exec: and the init RUNNING).
//   Exec      registers an exec (OCI Process JSON in `spec`); ALREADY_EXISTS for a used id.
//   Kill      init: `runtime kill [--all]`; exec: kill(2). NOT_FOUND once the process exited.
//   Wait      answers when the process exited: exit_status (128+signal when signalled).
//   Delete    exec: forgets it; init: `runtime delete --force`, unmounts the rootfs, publishes
//             TaskDelete. FAILED_PRECONDITION while the process runs; NOT_FOUND when unknown.
//   Pids      `runtime ps`; exec pids carry containerd.runc.v1.ProcessDetails.
//   Pause/Resume, Update (LinuxResources JSON), ResizePty, CloseIO, Stats (cgroupfs), Connect.
//   Shutdown  no-op while the container exists (unless `now`), else the shim exits.
//   Checkpoint UNIMPLEMENTED.
// Unknown container or exec ids are NOT_FOUND. Runtime failures are UNKNOWN with the runtime's
// last logged error. Events: create, start, exec-added, exec-started, exit, delete, paused,
// resumed, oom; TaskStart/TaskExecStarted precede the process's TaskExit, and exec exits precede
// the init's. A container without a pid namespace of its own loses its remaining processes
// (`runtime kill --all KILL`) when its init exits, before the exit is reported, as the kernel
// would do in a namespace of its own.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "containerd/runtime/v2/task/shim.berth.h"
#include "ipc/event_loop.h"
#include "shim/event_sink.h"
#include "shim/oci_runtime.h"
#include "shim/oom_watcher.h"
#include "shim/process.h"
#include "shim/reaper.h"

namespace berth::shim {

namespace task = containerd::task::v2;
using google::protobuf::Empty;

struct TaskServiceOptions {
  std::string ns;         // containerd namespace (default runtime root: /run/containerd/<rt>/<ns>)
  std::string id;         // the container id the shim was started for (empty: any)
  std::string bundle;     // expected bundle (empty: whatever Create names)
  RuntimeConfig runtime;  // defaults before CreateTaskRequest.options apply
  bool default_root = true;  // derive runtime.root from the binary and namespace
};

class TaskService : public task::TaskService {
 public:
  // `events` may be null (nothing published). `on_shutdown` runs (loop thread) after Shutdown
  // answered, when the shim should exit.
  TaskService(ipc::EventLoop& loop, Reaper& reaper, EventSink* events, TaskServiceOptions options,
              std::function<void()> on_shutdown);
  ~TaskService() override;

  void State(const task::StateRequest& request, ipc::Reply<task::StateResponse> reply) override;
  void Create(const task::CreateTaskRequest& request,
              ipc::Reply<task::CreateTaskResponse> reply) override;
  void Start(const task::StartRequest& request, ipc::Reply<task::StartResponse> reply) override;
  void Delete(const task::DeleteRequest& request, ipc::Reply<task::DeleteResponse> reply) override;
  void Pids(const task::PidsRequest& request, ipc::Reply<task::PidsResponse> reply) override;
  void Pause(const task::PauseRequest& request, ipc::Reply<Empty> reply) override;
  void Resume(const task::ResumeRequest& request, ipc::Reply<Empty> reply) override;
  void Checkpoint(const task::CheckpointTaskRequest& request, ipc::Reply<Empty> reply) override;
  void Kill(const task::KillRequest& request, ipc::Reply<Empty> reply) override;
  void Exec(const task::ExecProcessRequest& request, ipc::Reply<Empty> reply) override;
  void ResizePty(const task::ResizePtyRequest& request, ipc::Reply<Empty> reply) override;
  void CloseIO(const task::CloseIORequest& request, ipc::Reply<Empty> reply) override;
  void Update(const task::UpdateTaskRequest& request, ipc::Reply<Empty> reply) override;
  void Wait(const task::WaitRequest& request, ipc::Reply<task::WaitResponse> reply) override;
  void Stats(const task::StatsRequest& request, ipc::Reply<task::StatsResponse> reply) override;
  void Connect(const task::ConnectRequest& request,
               ipc::Reply<task::ConnectResponse> reply) override;
  void Shutdown(const task::ShutdownRequest& request, ipc::Reply<Empty> reply) override;

  // Live processes (init + execs) for tests and logging.
  size_t process_count() const { return (init_ ? 1 : 0) + execs_.size(); }

 private:
  Result<Process*> Find(const std::string& id, const std::string& exec_id);
  Status CheckId(const std::string& id) const;
  void Publish(const std::string& topic, const google::protobuf::Message& event);

  // task_create.cc
  Status PrepareCreate(const task::CreateTaskRequest& request);
  void CreateDone(Status status, std::shared_ptr<struct CreateState> state,
                  ipc::Reply<task::CreateTaskResponse> reply);
  void StartInit(Process* init, ipc::Reply<task::StartResponse> reply);
  void DeleteInit(ipc::Reply<task::DeleteResponse> reply);
  void FinishDeleteInit(ipc::Reply<task::DeleteResponse> reply);
  // task_exec.cc
  void StartExec(Process* exec, ipc::Reply<task::StartResponse> reply);
  void ExecStarted(const std::string& exec_id, Status status,
                   std::shared_ptr<struct ExecStartState> state,
                   ipc::Reply<task::StartResponse> reply);
  // task_exit.cc
  void WatchExit(Process* process);
  void OnExit(Process* process, int wait_status);
  void Finalize(Process* process, int wait_status);
  void ReleaseHeldInit();
  bool AnyExecAlive() const;
  void ScheduleTrim();

  ipc::EventLoop& loop_;
  Reaper& reaper_;
  EventSink* events_;
  TaskServiceOptions options_;
  std::function<void()> on_shutdown_;
  std::string id_;
  std::string bundle_;
  std::unique_ptr<OciRuntime> runtime_;
  bool creating_ = false;
  bool rootfs_mounted_ = false;
  bool shared_pid_ns_ = false;  // the container has no pid namespace of its own
  bool killed_all_ = false;     // `runtime kill --all` ran after the init exited
  std::unique_ptr<Process> init_;
  std::map<std::string, std::unique_ptr<Process>, std::less<>> execs_;
  std::unique_ptr<OomWatcher> oom_;
  bool trim_scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// Shared helpers.
void SetTimestamp(google::protobuf::Timestamp* ts, int64_t unix_nanos);
const char* StateName(ProcessState state);

}  // namespace berth::shim
