#pragma once
// SnapshotServer: berth.snapshot.v1.Snapshots over the snapshotters of this process, and
// DiffServer: berth.diff.v1.Diff over a Differ. Every call runs on libuv's threadpool
// (WorkQueue); the loop thread only parses and dispatches.
//
// A request names its snapshotter (empty: the default one). A snapshotter whose plugin failed
// to initialise answers FAILED_PRECONDITION with the reason; an unknown one NOT_FOUND.
//
// Both objects must outlive the ipc::Server they are registered with; their destructors wait
// for calls in progress.

#include <map>
#include <string>

#include "berth/diff/v1/diff.berth.h"
#include "berth/snapshot/v1/snapshots.berth.h"
#include "ipc/event_loop.h"
#include "services/snapshot/differ.h"
#include "services/snapshot/snapshotter.h"
#include "services/snapshot/work_queue.h"

namespace berth::snapshot {

class SnapshotServer : public berth::snapshot::v1::SnapshotsService {
 public:
  SnapshotServer(ipc::EventLoop& loop, std::string default_snapshotter);

  // `snapshotter` is borrowed.
  void Add(const std::string& name, Snapshotter* snapshotter);
  // A snapshotter that could not start: its calls fail with `reason`.
  void AddFailed(const std::string& name, const Status& reason);

  using Service = berth::snapshot::v1::SnapshotsService;
  void Prepare(const v1::PrepareSnapshotRequest& request,
               ipc::Reply<v1::PrepareSnapshotResponse> reply) override;
  void View(const v1::ViewSnapshotRequest& request,
            ipc::Reply<v1::ViewSnapshotResponse> reply) override;
  void Mounts(const v1::MountsRequest& request, ipc::Reply<v1::MountsResponse> reply) override;
  void Commit(const v1::CommitSnapshotRequest& request,
              ipc::Reply<v1::CommitSnapshotResponse> reply) override;
  void Remove(const v1::RemoveSnapshotRequest& request,
              ipc::Reply<v1::RemoveSnapshotResponse> reply) override;
  void Stat(const v1::StatSnapshotRequest& request,
            ipc::Reply<v1::StatSnapshotResponse> reply) override;
  void Update(const v1::UpdateSnapshotRequest& request,
              ipc::Reply<v1::UpdateSnapshotResponse> reply) override;
  void List(const v1::ListSnapshotsRequest& request,
            ipc::ServerWriter<v1::ListSnapshotsResponse> writer) override;
  void Usage(const v1::UsageRequest& request, ipc::Reply<v1::UsageResponse> reply) override;
  void Cleanup(const v1::CleanupRequest& request, ipc::Reply<v1::CleanupResponse> reply) override;

 private:
  Result<Snapshotter*> Find(const std::string& name) const;

  std::string default_;
  std::map<std::string, Snapshotter*> snapshotters_;
  std::map<std::string, Status> failed_;
  WorkQueue queue_;  // last: destroyed (and drained) first
};

class DiffServer : public berth::diff::v1::DiffService {
 public:
  // `differ` is borrowed.
  DiffServer(ipc::EventLoop& loop, Differ* differ);

  void Apply(const berth::diff::v1::ApplyRequest& request,
             ipc::Reply<berth::diff::v1::ApplyResponse> reply) override;
  void Compare(const berth::diff::v1::CompareRequest& request,
               ipc::Reply<berth::diff::v1::CompareResponse> reply) override;

 private:
  Differ* differ_;
  WorkQueue queue_;
};

}  // namespace berth::snapshot
