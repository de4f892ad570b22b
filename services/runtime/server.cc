#include "services/runtime/server.h"

#include <fcntl.h>

#include "services/runtime/log_files.h"

namespace berth::runtime {

namespace md = berth::metadata::v1;
namespace snap = berth::snapshot::v1;

namespace {

ipc::CallOptions LookupOptions(const std::string& ns) {
  ipc::CallOptions options;
  options.ns = ns;
  options.timeout = std::chrono::seconds(30);
  return options;
}

template <typename T>
std::function<void(Result<T>)> Answer(ipc::Reply<T> reply) {
  return [reply](Result<T> result) { reply(result); };
}

}  // namespace

TasksServer::TasksServer(ipc::EventLoop& loop, TaskManager& manager,
                         const std::string& metadata_socket, const std::string& snapshot_socket)
    : manager_(manager), metadata_socket_(metadata_socket), snapshot_socket_(snapshot_socket) {
  ipc::ClientOptions options;
  options.connect_timeout = std::chrono::seconds(5);  // ride out a restarting peer
  containers_ = std::make_unique<md::ContainersAsyncClient>(
      ipc::AsyncClient::Create(loop, metadata_socket, options));
  snapshots_ = std::make_unique<snap::SnapshotsAsyncClient>(
      ipc::AsyncClient::Create(loop, snapshot_socket, options));
}

void TasksServer::Create(const rt::CreateTaskRequest& request,
                         ipc::Reply<rt::CreateTaskResponse> reply) {
  std::string ns = reply.call().Namespace();
  md::GetContainerRequest get;
  get.set_id(request.container_id());
  containers_->Get(
      get, LookupOptions(ns), [this, request, reply, ns](Result<md::GetContainerResponse> found) {
        if (!found.ok()) {
          return reply.Fail(found.status().Annotate("container " + request.container_id()));
        }
        const md::Container& c = found->container();
        CreateParams params;
        params.ns = ns;
        params.id = request.container_id();
        params.spec_json = c.spec().value();
        params.runtime = c.runtime().name();
        params.options = request.has_options() ? request.options() : c.runtime().options();
        params.stdin = request.stdin();
        params.stdout = request.stdout();
        params.stderr = request.stderr();
        params.terminal = request.terminal();
        params.log_to_file = request.log_to_file();
        if (params.spec_json.empty()) {
          return reply.Fail(
              Error(Code::kFailedPrecondition, "container {} has no spec", params.id));
        }
        for (const auto& m : request.rootfs()) {
          containerd::types::Mount* out = &params.rootfs.emplace_back();
          out->set_type(m.type());
          out->set_source(m.source());
          out->set_target(m.target());
          out->mutable_options()->CopyFrom(m.options());
        }
        if (!params.rootfs.empty() || c.snapshot_key().empty()) {
          return manager_.Create(std::move(params), Answer(reply));
        }
        CreateWithMounts(std::move(params), c.snapshotter(), c.snapshot_key(), reply);
      });
}

void TasksServer::CreateWithMounts(CreateParams params, const std::string& snapshotter,
                                   const std::string& snapshot_key,
                                   ipc::Reply<rt::CreateTaskResponse> reply) {
  snap::MountsRequest mounts;
  mounts.set_snapshotter(snapshotter);
  mounts.set_key(snapshot_key);
  std::string ns = params.ns;
  snapshots_->Mounts(mounts, LookupOptions(ns),
                     [this, params = std::move(params), reply,
                      snapshot_key](Result<snap::MountsResponse> found) mutable {
                       if (!found.ok())
                         return reply.Fail(found.status().Annotate("snapshot " + snapshot_key));
                       for (const auto& m : found->mounts()) {
                         containerd::types::Mount* out = &params.rootfs.emplace_back();
                         out->set_type(m.type());
                         out->set_source(m.source());
                         out->set_target(m.target());
                         out->mutable_options()->CopyFrom(m.options());
                       }
                       manager_.Create(std::move(params), Answer(reply));
                     });
}

void TasksServer::Start(const rt::StartRequest& r, ipc::Reply<rt::StartResponse> reply) {
  manager_.Start(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::Delete(const rt::DeleteTaskRequest& r, ipc::Reply<rt::DeleteResponse> reply) {
  manager_.Delete(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::DeleteProcess(const rt::DeleteProcessRequest& r,
                                ipc::Reply<rt::DeleteResponse> reply) {
  manager_.DeleteProcess(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::Get(const rt::GetRequest& r, ipc::Reply<rt::GetResponse> reply) {
  manager_.Get(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::List(const rt::ListTasksRequest&, ipc::Reply<rt::ListTasksResponse> reply) {
  manager_.List(reply.call().Namespace(), Answer(reply));
}
void TasksServer::Kill(const rt::KillRequest& r, ipc::Reply<rt::KillResponse> reply) {
  manager_.Kill(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::Exec(const rt::ExecProcessRequest& r, ipc::Reply<rt::ExecProcessResponse> reply) {
  manager_.Exec(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::ResizePty(const rt::ResizePtyRequest& r,
                            ipc::Reply<rt::ResizePtyResponse> reply) {
  manager_.ResizePty(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::CloseIO(const rt::CloseIORequest& r, ipc::Reply<rt::CloseIOResponse> reply) {
  manager_.CloseIO(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::Pause(const rt::PauseTaskRequest& r, ipc::Reply<rt::PauseTaskResponse> reply) {
  manager_.Pause(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::Resume(const rt::ResumeTaskRequest& r, ipc::Reply<rt::ResumeTaskResponse> reply) {
  manager_.Resume(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::ListPids(const rt::ListPidsRequest& r, ipc::Reply<rt::ListPidsResponse> reply) {
  manager_.ListPids(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::Update(const rt::UpdateTaskRequest& r, ipc::Reply<rt::UpdateTaskResponse> reply) {
  manager_.Update(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::Metrics(const rt::MetricsRequest& r, ipc::Reply<rt::MetricsResponse> reply) {
  manager_.Metrics(reply.call().Namespace(), r, Answer(reply));
}
void TasksServer::Wait(const rt::WaitRequest& r, ipc::Reply<rt::WaitResponse> reply) {
  manager_.Wait(reply.call().Namespace(), r, Answer(reply));
}

void TasksServer::OpenLog(const rt::OpenLogRequest& r, ipc::Reply<rt::OpenLogResponse> reply) {
  manager_.Log(reply.call().Namespace(), r.container_id(),
               [reply, id = r.container_id()](Result<TaskManager::LogInfo> info) {
                 if (!info.ok()) return reply.Fail(info.status());
                 // Rotated files oldest first, the current one last (log_files.h).
                 auto fds = OpenLogFiles(info->path);
                 if (!fds.ok()) {
                   return reply.Fail(Error(Code::kNotFound,
                                           "task {} has no log file: it was not started detached "
                                           "(run -d)",
                                           id));
                 }
                 rt::OpenLogResponse out;
                 out.set_path(info->path);
                 out.set_running(info->running);
                 reply.Ok(out, std::move(fds).value());
               });
}

}  // namespace berth::runtime
