#pragma once
// The snapshot service's size metrics, read from disk at each scrape (on a thread of its own,
// since a tree walk may take a while):
//   berth_snapshot_snapshots{snapshotter}  snapshots (committed, active and views) per snapshotter
//   berth_snapshot_bytes{snapshotter}      disk space they take (du: blocks, hard links once)
// A snapshotter is a directory <root>/snapshot/<name> holding snapshots/<id>/ (fs_snapshotter.h).

#include "services/host/service_host.h"

namespace berth::snapshot {

void AddDiskMetrics(service::ServiceHost& host);

}  // namespace berth::snapshot
