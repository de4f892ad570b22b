#pragma once
// Garbage collection metrics of berth-metadata:
//   berth_gc_runs_total                 collections run (GcScheduler::runs)
//   berth_gc_removed_total{kind}        objects a collection deleted: kind="content"|"snapshot"
// MeteredGcStores counts the deletes on their way to the content and snapshot services; the
// bytes they freed are counted where the data lives (berth_content_deleted_bytes_total, and the
// drop of berth_snapshot_bytes).

#include <memory>

#include "common/metrics.h"
#include "services/metadata/gc.h"
#include "services/metadata/gc_stores.h"

namespace berth::metadata {

class MeteredGcStores : public GcStores {
 public:
  MeteredGcStores(std::unique_ptr<GcStores> inner, metrics::Registry& registry);

  bool content_namespaced() const override { return inner_->content_namespaced(); }
  bool snapshots_namespaced() const override { return inner_->snapshots_namespaced(); }
  Result<std::vector<ContentInfo>> ListContent() override { return inner_->ListContent(); }
  Status DeleteContent(const ContentInfo& blob) override;
  Result<std::vector<SnapshotInfo>> ListSnapshots() override { return inner_->ListSnapshots(); }
  Status RemoveSnapshot(const SnapshotInfo& snapshot) override;

 private:
  std::unique_ptr<GcStores> inner_;
  metrics::Counter& removed_content_;
  metrics::Counter& removed_snapshots_;
};

// berth_gc_runs_total from `gc` (which must outlive the registry's collections).
void AddGcCollector(const GcScheduler& gc, metrics::Registry& registry);

}  // namespace berth::metadata
