#pragma once
// TasksServer: berth.runtime.v1.Tasks on the wire -> TaskManager. Create looks up the container
// record in berth-metadata (spec, runtime, snapshot key) and, unless the request gives rootfs
// mounts, the snapshot's mounts in berth-snapshot. The namespace is the caller's
// (containerd-namespace-ttrpc, default "default").
//
// Errors of the lookups reach the caller annotated ("container c1: NOT_FOUND ..."); an
// unreachable metadata or snapshot service is UNAVAILABLE naming its socket.
// Loop-thread object.

#include <memory>
#include <string>

#include "berth/metadata/v1/containers.berth.h"
#include "berth/runtime/v1/tasks.berth.h"
#include "berth/snapshot/v1/snapshots.berth.h"
#include "ipc/event_loop.h"
#include "services/runtime/task_manager.h"

namespace berth::runtime {

class TasksServer : public rt::TasksService {
 public:
  // `metadata_socket` / `snapshot_socket`: where berth-metadata and berth-snapshot serve.
  TasksServer(ipc::EventLoop& loop, TaskManager& manager, const std::string& metadata_socket,
              const std::string& snapshot_socket);

  void Create(const rt::CreateTaskRequest& request,
              ipc::Reply<rt::CreateTaskResponse> reply) override;
  void Start(const rt::StartRequest& request, ipc::Reply<rt::StartResponse> reply) override;
  void Delete(const rt::DeleteTaskRequest& request, ipc::Reply<rt::DeleteResponse> reply) override;
  void DeleteProcess(const rt::DeleteProcessRequest& request,
                     ipc::Reply<rt::DeleteResponse> reply) override;
  void Get(const rt::GetRequest& request, ipc::Reply<rt::GetResponse> reply) override;
  void List(const rt::ListTasksRequest& request, ipc::Reply<rt::ListTasksResponse> reply) override;
  void Kill(const rt::KillRequest& request, ipc::Reply<rt::KillResponse> reply) override;
  void Exec(const rt::ExecProcessRequest& request,
            ipc::Reply<rt::ExecProcessResponse> reply) override;
  void ResizePty(const rt::ResizePtyRequest& request,
                 ipc::Reply<rt::ResizePtyResponse> reply) override;
  void CloseIO(const rt::CloseIORequest& request, ipc::Reply<rt::CloseIOResponse> reply) override;
  void Pause(const rt::PauseTaskRequest& request, ipc::Reply<rt::PauseTaskResponse> reply) override;
  void Resume(const rt::ResumeTaskRequest& request,
              ipc::Reply<rt::ResumeTaskResponse> reply) override;
  void ListPids(const rt::ListPidsRequest& request,
                ipc::Reply<rt::ListPidsResponse> reply) override;
  void Update(const rt::UpdateTaskRequest& request,
              ipc::Reply<rt::UpdateTaskResponse> reply) override;
  void Metrics(const rt::MetricsRequest& request, ipc::Reply<rt::MetricsResponse> reply) override;
  void Wait(const rt::WaitRequest& request, ipc::Reply<rt::WaitResponse> reply) override;
  // Answers one read-only fd per log file: rotated ones oldest first, the current one last.
  void OpenLog(const rt::OpenLogRequest& request, ipc::Reply<rt::OpenLogResponse> reply) override;

 private:
  void CreateWithMounts(CreateParams params, const std::string& snapshotter,
                        const std::string& snapshot_key, ipc::Reply<rt::CreateTaskResponse> reply);

  TaskManager& manager_;
  std::string metadata_socket_;
  std::string snapshot_socket_;
  std::unique_ptr<berth::metadata::v1::ContainersAsyncClient> containers_;
  std::unique_ptr<berth::snapshot::v1::SnapshotsAsyncClient> snapshots_;
};

}  // namespace berth::runtime
