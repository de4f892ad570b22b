#include "services/snapshot/service.h"

#include <sys/mount.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "services/snapshot/drivers.h"
#include "services/snapshot/fs_util.h"

namespace berth::snapshot {
namespace {

constexpr char kSnapshotterPlugin[] = "berth.snapshotter.v1";
constexpr char kDifferPlugin[] = "berth.differ.v1";

// Scratch mount points left by a crash: unmount (lazily) and remove.
void ClearScratch(const std::string& scratch) {
  auto dir = OpenDirectory(scratch, false);
  if (!dir.ok()) return;
  auto names = ListDir(dir->get());
  if (!names.ok()) return;
  for (const std::string& name : *names) {
    std::string path = scratch + "/" + name;
    while (::umount2(path.c_str(), MNT_DETACH) == 0) {
    }
    Status removed = RemoveAll(path);
    if (!removed.ok()) spdlog::warn("cannot remove scratch dir {}: {}", path, removed.message());
  }
}

std::unique_ptr<FsSnapshotter> OpenOne(service::ServiceHost& host, SnapshotServer& server,
                                       std::string_view name) {
  auto opened = OpenSnapshotter(host.DataDir(), name);
  if (!opened.ok()) {
    spdlog::error("snapshotter unavailable name={} error={}", name, opened.status().message());
    server.AddFailed(std::string(name), opened.status());
    host.AddPlugin(kSnapshotterPlugin, std::string(name), "error", opened.status().message());
    return nullptr;
  }
  auto removed = (*opened)->Cleanup();
  if (!removed.ok()) spdlog::warn("cleanup of {} failed: {}", name, removed.status().message());
  server.Add(std::string(name), opened->get());
  host.AddPlugin(kSnapshotterPlugin, std::string(name));
  spdlog::info("snapshotter ready name={} dir={}", name, (*opened)->dir());
  return std::move(*opened);
}

}  // namespace

Result<std::unique_ptr<SnapshotService>> SnapshotService::Start(service::ServiceHost& host,
                                                                ServiceSettings settings) {
  std::unique_ptr<SnapshotService> service(new SnapshotService());
  BERTH_RETURN_IF_ERROR(MakeDirs(host.DataDir(), 0700));
  std::string scratch = host.DataDir() + "/tmpmounts";
  ClearScratch(scratch);

  service->snapshot_server_ =
      std::make_unique<SnapshotServer>(host.loop(), std::string(kOverlayfs));
  service->overlay_ = OpenOne(host, *service->snapshot_server_, kOverlayfs);
  service->native_ = OpenOne(host, *service->snapshot_server_, kNative);
  service->snapshot_server_->RegisterWith(host.server());

  if (settings.content_socket.empty()) {
    settings.content_socket = host.options().state + "/content.sock";
  }
  ipc::ClientOptions client_options;
  client_options.connect_timeout = std::chrono::seconds(10);  // rides out content restarts
  service->content_client_ = std::make_unique<ipc::Client>(settings.content_socket, client_options);
  service->content_ = std::make_unique<content::Proxy>(*service->content_client_);
  service->differ_ = std::make_unique<WalkingDiffer>(*service->content_, scratch, settings.limits);
  service->diff_server_ = std::make_unique<DiffServer>(host.loop(), service->differ_.get());
  service->diff_server_->RegisterWith(host.server());
  host.AddPlugin(kDifferPlugin, "walking");
  return service;
}

}  // namespace berth::snapshot
