#pragma once
// SnapshotService: everything berth-snapshot runs, assembled on a ServiceHost (main.cc stays
// thin):
//   - the snapshotters overlayfs (default) and native, each in <root>/snapshot/<name> with its
//     own metadata; an overlayfs that cannot work on this host is reported to berthd as plugin
//     status "error" with the reason, and the others keep working;
//   - the walking differ, reading layers from berth-content through its Proxy (blobs arrive as
//     read-only fds over SCM_RIGHTS) and writing Compare results back to it;
//   - the servers for berth.snapshot.v1.Snapshots and berth.diff.v1.Diff.
// On start it unmounts and removes scratch mounts a crash may have left in
// <root>/snapshot/tmpmounts and runs Cleanup() on every snapshotter.

#include <memory>
#include <string>

#include "ipc/client.h"
#include "services/content/proxy.h"
#include "services/host/service_host.h"
#include "services/snapshot/differ.h"
#include "services/snapshot/fs_snapshotter.h"
#include "services/snapshot/snapshot_server.h"

namespace berth::snapshot {

struct ServiceSettings {
  std::string content_socket;  // default <state>/content.sock
  ApplyLimits limits;
};

class SnapshotService {
 public:
  // Opens the snapshotters and registers servers and plugins with `host`.
  static Result<std::unique_ptr<SnapshotService>> Start(service::ServiceHost& host,
                                                        ServiceSettings settings);

 private:
  SnapshotService() = default;

  std::unique_ptr<FsSnapshotter> overlay_;
  std::unique_ptr<FsSnapshotter> native_;
  std::unique_ptr<ipc::Client> content_client_;
  std::unique_ptr<content::Proxy> content_;
  std::unique_ptr<WalkingDiffer> differ_;
  std::unique_ptr<SnapshotServer> snapshot_server_;
  std::unique_ptr<DiffServer> diff_server_;
};

}  // namespace berth::snapshot
