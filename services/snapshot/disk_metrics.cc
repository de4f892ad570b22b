#include "services/snapshot/disk_metrics.h"

#include <sys/stat.h>

#include <thread>

#include "services/host/disk_usage.h"

namespace berth::snapshot {

namespace {

metrics::Families Measure(const std::string& data_dir) {
  metrics::Family count{"berth_snapshot_snapshots",
                        "Snapshots (committed, active and views), by snapshotter.",
                        metrics::Type::kGauge,
                        {}};
  metrics::Family bytes{"berth_snapshot_bytes",
                        "Disk space the snapshots take, by snapshotter.",
                        metrics::Type::kGauge,
                        {}};
  for (const std::string& name : service::SubDirectories(data_dir)) {
    std::string snapshots = data_dir + "/" + name + "/snapshots";
    struct stat st {};
    if (::stat(snapshots.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    metrics::Labels labels = {{"snapshotter", name}};
    count.samples.push_back(
        {labels, static_cast<double>(service::SubDirectories(snapshots).size())});
    auto usage = service::MeasureDiskUsage(snapshots);
    if (usage.ok()) bytes.samples.push_back({labels, static_cast<double>(usage->bytes)});
  }
  return {std::move(count), std::move(bytes)};
}

}  // namespace

void AddDiskMetrics(service::ServiceHost& host) {
  host.AddAsyncMetrics([dir = host.DataDir()](auto done) {
    std::thread([dir, done] { done(Measure(dir)); }).detach();
  });
}

}  // namespace berth::snapshot
