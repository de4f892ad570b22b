#pragma once
// IpcGcStores: GcStores over the content service (berth.content.v1.Content: List, Delete) and
// the snapshot service (berth.snapshot.v1.Snapshots: List, Remove) sockets. Both stores are
// global (not namespaced).
//
// Snapshotters are named up front (the snapshot service has no call that lists them). A
// snapshotter that answers FAILED_PRECONDITION (its plugin could not start on this host) holds
// nothing this process could reach and is treated as empty; any other error fails the listing.
// Blocking; GC thread only.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ipc/client.h"
#include "services/metadata/gc_stores.h"

namespace berth::metadata {

class IpcGcStores : public GcStores {
 public:
  IpcGcStores(std::string content_socket, std::string snapshot_socket,
              std::vector<std::string> snapshotters,
              std::chrono::milliseconds timeout = std::chrono::seconds(120));

  Result<std::vector<ContentInfo>> ListContent() override;
  Status DeleteContent(const ContentInfo& blob) override;
  Result<std::vector<SnapshotInfo>> ListSnapshots() override;
  Status RemoveSnapshot(const SnapshotInfo& snapshot) override;

 private:
  ipc::CallOptions Options() const;

  ipc::Client content_;
  ipc::Client snapshots_;
  std::vector<std::string> snapshotters_;
  std::chrono::milliseconds timeout_;
};

}  // namespace berth::metadata
