#pragma once
// The snapshot service's interfaces over IPC: SnapshotterProxy (one snapshotter of a
// berth-snapshot process) and DifferProxy (its differ). With the servers on the other end they
// behave exactly like the backends (the conformance suite runs against both).
//
// UNAVAILABLE when berth-snapshot cannot be reached. Thread-safe (the ipc::Client is); the
// client must outlive the proxy.

#include <chrono>
#include <string>

#include "berth/diff/v1/diff.berth.h"
#include "berth/snapshot/v1/snapshots.berth.h"
#include "ipc/client.h"
#include "services/snapshot/differ.h"
#include "services/snapshot/snapshotter.h"

namespace berth::snapshot {

struct ProxyOptions {
  std::string ns;                        // namespace metadata ("" = none)
  std::chrono::milliseconds timeout{0};  // per call; 0 = none
};

class SnapshotterProxy final : public Snapshotter {
 public:
  // `snapshotter` names the backend ("" = the service's default).
  SnapshotterProxy(ipc::Client& client, std::string snapshotter, ProxyOptions options = {});

  Result<Info> Stat(const std::string& key) override;
  Result<Info> Update(const Info& info, const std::vector<std::string>& fieldpaths) override;
  Result<Usage> GetUsage(const std::string& key) override;
  Result<std::vector<Mount>> Mounts(const std::string& key) override;
  Result<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent,
                                     const Labels& labels) override;
  Result<std::vector<Mount>> View(const std::string& key, const std::string& parent,
                                  const Labels& labels) override;
  Status Commit(const std::string& name, const std::string& key, const Labels& labels) override;
  Status Remove(const std::string& key) override;
  Status Walk(const WalkFn& fn, const std::vector<std::string>& filters) override;
  Result<int64_t> Cleanup() override;

 private:
  ipc::CallOptions Options() const;

  berth::snapshot::v1::SnapshotsClient client_;
  std::string snapshotter_;
  ProxyOptions options_;
};

class DifferProxy final : public Differ {
 public:
  explicit DifferProxy(ipc::Client& client, ProxyOptions options = {});

  Result<ApplyResult> Apply(const Descriptor& layer, const std::vector<Mount>& mounts,
                            const DiffApplyOptions& options) override;
  Result<CompareResult> Compare(const std::vector<Mount>& lower, const std::vector<Mount>& upper,
                                const CompareOptions& options) override;

 private:
  ipc::CallOptions Options() const;

  berth::diff::v1::DiffClient client_;
  ProxyOptions options_;
};

}  // namespace berth::snapshot
