#pragma once
// TaskManager: the core of berth-runtime. It owns every task of this Berth instance and drives
// one shim per task over containerd's shim task API (containerd.task.v2.Task over ttrpc), so any
// containerd runtime-v2 shim works: berth-shim, or containerd's containerd-shim-runc-v2.
//
// Glossary: a *task* is the running side of a container (its init process and exec processes),
// identified by (namespace, container id). Its *bundle* and persistent *work dir* are described
// in bundle.h. The *shim* is a detached process that owns the container's processes; tasks keep
// running while berth-runtime is down.
//
// Lifecycle of a task:
//   Create: bundle written -> shim `start` -> Create RPC (rootfs mounted by the shim) -> CREATED.
//     Any failure undoes everything (shim Delete + Shutdown, `shim delete`, bundle removed).
//   Start -> RUNNING. berth-runtime keeps a Wait RPC open on every shim; when the init process
//     exits its status is recorded in memory and in the work dir's `exit` file -> STOPPED.
//   Delete (STOPPED or CREATED): shim Delete + Shutdown, bundle and work dir removed.
//   Recovery (Recover, at start): every bundle with an `address` file is reconnected (Connect,
//     2 s); the task is reloaded with its state. A shim that does not answer is cleaned up with
//     its `delete` subcommand and the task is reported exited (/tasks/exit event) with, in order
//     of preference, the recorded `exit` status, the status `delete` reports, or 255. It stays
//     listed as STOPPED until deleted. A shim that dies later is handled the same way.
//   Requests that arrive before recovery finished wait for it.
//
// Errors: NOT_FOUND (no such task or process), ALREADY_EXISTS (Create of an existing task),
// FAILED_PRECONDITION (Delete of a running task, operations on a task whose shim is gone or that
// is being created/deleted), INVALID_ARGUMENT (bad ids), and the shim's own errors unchanged
// (e.g. UNKNOWN "OCI runtime create failed: ..."), UNAVAILABLE when a shim cannot be reached.
//
// Thread-safety: every public method may be called from any thread; the work happens on the
// loop thread and `done` runs there. Blocking work (bundles, shim start/delete) runs on worker
// threads. The TaskManager must outlive the loop's callbacks (destroy it after the loop stopped;
// the destructor waits for worker threads).

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/message.h>

#include "berth/runtime/v1/tasks.pb.h"
#include "common/status.h"
#include "containerd/types/mount.pb.h"
#include "ipc/event_loop.h"

namespace berth::runtime {

namespace rt = ::berth::runtime::v1;

struct RuntimeConfig {
  std::string state_dir;               // <state>/runtime: bundles
  std::string root_dir;                // <root>/runtime: persistent task state
  std::string address;                 // -address for shims (berth-runtime's socket)
  std::string events_address;          // TTRPC_ADDRESS for shims (berthd.sock); empty = none
  std::string publish_binary;          // -publish-binary for shims
  std::vector<std::string> shim_dirs;  // searched before $PATH for containerd-shim-* binaries
  // Default containerd.runc.v1.Options root for runc-type shims (berth, runc) when a task has no
  // options, so that this instance's containers live in their own runtime root.
  std::string runc_root;
  std::string default_runtime = "io.containerd.berth.v1";
  // Rotation of log_to_file logs, done by the shim (shim/stdio.h): bytes per file (0: none) and
  // rotated files kept. Passed as "?max-size=N&max-files=K" on the file:// URI.
  uint64_t log_max_size = 0;
  int log_max_files = 3;
};

struct CreateParams {
  std::string ns;
  std::string id;
  std::string spec_json;
  std::string runtime;  // empty = RuntimeConfig::default_runtime
  google::protobuf::Any options;
  std::vector<containerd::types::Mount> rootfs;
  std::string stdin, stdout, stderr;
  bool terminal = false;
  bool log_to_file = false;  // stdout/stderr -> file://<work>/log
};

using EventPublisher = std::function<void(const std::string& ns, const std::string& topic,
                                          const google::protobuf::Message& event)>;

class TaskManager {
 public:
  template <typename T>
  using Done = std::function<void(Result<T>)>;

  TaskManager(ipc::EventLoop& loop, RuntimeConfig config, EventPublisher publish);
  ~TaskManager();
  TaskManager(const TaskManager&) = delete;
  TaskManager& operator=(const TaskManager&) = delete;

  // Scans the state and root dirs and reloads tasks; `done` runs once every task is accounted
  // for (shims reconnected or found dead). Call once, before or after serving.
  void Recover(std::function<void()> done = {});

  void Create(CreateParams params, Done<rt::CreateTaskResponse> done);
  void Start(const std::string& ns, rt::StartRequest request, Done<rt::StartResponse> done);
  void Delete(const std::string& ns, rt::DeleteTaskRequest request, Done<rt::DeleteResponse> done);
  void DeleteProcess(const std::string& ns, rt::DeleteProcessRequest request,
                     Done<rt::DeleteResponse> done);
  void Get(const std::string& ns, rt::GetRequest request, Done<rt::GetResponse> done);
  void List(const std::string& ns, Done<rt::ListTasksResponse> done);
  void Kill(const std::string& ns, rt::KillRequest request, Done<rt::KillResponse> done);
  void Exec(const std::string& ns, rt::ExecProcessRequest request,
            Done<rt::ExecProcessResponse> done);
  void ResizePty(const std::string& ns, rt::ResizePtyRequest request,
                 Done<rt::ResizePtyResponse> done);
  void CloseIO(const std::string& ns, rt::CloseIORequest request, Done<rt::CloseIOResponse> done);
  void Pause(const std::string& ns, rt::PauseTaskRequest request, Done<rt::PauseTaskResponse> done);
  void Resume(const std::string& ns, rt::ResumeTaskRequest request,
              Done<rt::ResumeTaskResponse> done);
  void ListPids(const std::string& ns, rt::ListPidsRequest request,
                Done<rt::ListPidsResponse> done);
  void Update(const std::string& ns, rt::UpdateTaskRequest request,
              Done<rt::UpdateTaskResponse> done);
  void Metrics(const std::string& ns, rt::MetricsRequest request, Done<rt::MetricsResponse> done);
  void Wait(const std::string& ns, rt::WaitRequest request, Done<rt::WaitResponse> done);

  struct LogInfo {
    std::string path;  // <work>/log
    bool running = false;
  };
  // Where a task's log file is (it may not exist when the task was not created log_to_file).
  void Log(const std::string& ns, const std::string& id, Done<LogInfo> done);

  const RuntimeConfig& config() const { return config_; }

  struct Found;  // a task found on disk by Recover (recovery.cc)

 private:
  struct Task;
  struct Started;
  using TaskPtr = std::shared_ptr<Task>;

  // Runs `fn` on the loop once recovery finished.
  void WhenReady(std::function<void()> fn);
  // Runs `work` on a worker thread, then `then` with its result on the loop.
  template <typename T>
  void Blocking(std::function<Result<T>()> work, std::function<void(Result<T>)> then);
  Result<TaskPtr> Find(const std::string& ns, const std::string& id, bool need_shim) const;

  void FinishCreate(TaskPtr task, CreateParams params, Result<Started> started,
                    Done<rt::CreateTaskResponse> done);
  void FailCreate(TaskPtr task, Status status, Done<rt::CreateTaskResponse> done);
  void Attach(const TaskPtr& task, const std::string& socket, int log_fd);
  void Detach(const TaskPtr& task);
  void Monitor(TaskPtr task);
  void CheckShim(TaskPtr task);
  void ShimDied(TaskPtr task);
  void RecordExit(const TaskPtr& task, uint32_t status, int64_t exited_at, bool persist);
  void DeleteLive(TaskPtr task, Done<rt::DeleteResponse> done);
  void DeleteDead(TaskPtr task, Done<rt::DeleteResponse> done);
  void Remove(const TaskPtr& task);
  void RecoverTask(Found found, std::function<void()> finish);
  void FillProcess(const TaskPtr& task, rt::Process* process) const;

  ipc::EventLoop& loop_;
  RuntimeConfig config_;
  EventPublisher publish_;
  std::map<std::string, TaskPtr> tasks_;  // key "<ns>/<id>"; loop thread
  bool ready_ = true;                     // false while recovering
  std::vector<std::function<void()>> deferred_;

  // Worker threads in flight (the destructor waits for them).
  std::mutex workers_mutex_;
  std::condition_variable workers_done_;
  int workers_ = 0;
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
};

}  // namespace berth::runtime
