#include "services/metadata/gc_stores_ipc.h"

#include <spdlog/spdlog.h>

#include "berth/content/v1/content.berth.h"
#include "berth/snapshot/v1/snapshots.berth.h"

namespace berth::metadata {

namespace content = ::berth::content::v1;
namespace snapshot = ::berth::snapshot::v1;

IpcGcStores::IpcGcStores(std::string content_socket, std::string snapshot_socket,
                         std::vector<std::string> snapshotters, std::chrono::milliseconds timeout)
    : content_(std::move(content_socket)),
      snapshots_(std::move(snapshot_socket)),
      snapshotters_(std::move(snapshotters)),
      timeout_(timeout) {}

ipc::CallOptions IpcGcStores::Options() const {
  ipc::CallOptions options;
  options.timeout = timeout_;
  return options;
}

Result<std::vector<ContentInfo>> IpcGcStores::ListContent() {
  content::ContentClient client(content_);
  auto stream = client.List(content::ListContentRequest(), Options());
  std::vector<ContentInfo> out;
  while (true) {
    auto message = stream.Recv();
    if (!message.ok()) return message.status().Annotate("content service: list");
    if (!message->has_value()) break;
    for (auto& info : *(*message)->mutable_info()) {
      ContentInfo blob;
      blob.digest = std::move(*info.mutable_digest());
      blob.labels.insert(info.labels().begin(), info.labels().end());
      out.push_back(std::move(blob));
    }
  }
  return out;
}

Status IpcGcStores::DeleteContent(const ContentInfo& blob) {
  content::ContentClient client(content_);
  content::DeleteContentRequest request;
  request.set_digest(blob.digest);
  auto response = client.Delete(request, Options());
  return response.ok() ? Status::Ok() : response.status();
}

Result<std::vector<SnapshotInfo>> IpcGcStores::ListSnapshots() {
  snapshot::SnapshotsClient client(snapshots_);
  std::vector<SnapshotInfo> out;
  for (const auto& name : snapshotters_) {
    snapshot::ListSnapshotsRequest request;
    request.set_snapshotter(name);
    auto stream = client.List(request, Options());
    while (true) {
      auto message = stream.Recv();
      if (!message.ok() && message.status().code() == Code::kFailedPrecondition) {
        spdlog::debug("gc skips snapshotter {}: {}", name, message.status().message());
        break;
      }
      if (!message.ok()) {
        return message.status().Annotate("snapshot service: list " + name);
      }
      if (!message->has_value()) break;
      for (auto& info : *(*message)->mutable_info()) {
        SnapshotInfo s;
        s.snapshotter = name;
        s.key = std::move(*info.mutable_name());
        s.parent = std::move(*info.mutable_parent());
        s.labels.insert(info.labels().begin(), info.labels().end());
        out.push_back(std::move(s));
      }
    }
  }
  return out;
}

Status IpcGcStores::RemoveSnapshot(const SnapshotInfo& s) {
  snapshot::SnapshotsClient client(snapshots_);
  snapshot::RemoveSnapshotRequest request;
  request.set_snapshotter(s.snapshotter);
  request.set_key(s.key);
  auto response = client.Remove(request, Options());
  return response.ok() ? Status::Ok() : response.status();
}

}  // namespace berth::metadata
