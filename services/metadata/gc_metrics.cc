#include "services/metadata/gc_metrics.h"

namespace berth::metadata {

namespace {
constexpr char kRemoved[] = "berth_gc_removed_total";
constexpr char kRemovedHelp[] = "Objects garbage collection deleted, by kind.";
}  // namespace

MeteredGcStores::MeteredGcStores(std::unique_ptr<GcStores> inner, metrics::Registry& registry)
    : inner_(std::move(inner)),
      removed_content_(registry.GetCounter(kRemoved, kRemovedHelp, {{"kind", "content"}})),
      removed_snapshots_(registry.GetCounter(kRemoved, kRemovedHelp, {{"kind", "snapshot"}})) {}

Status MeteredGcStores::DeleteContent(const ContentInfo& blob) {
  Status status = inner_->DeleteContent(blob);
  if (status.ok()) removed_content_.Add();
  return status;
}

Status MeteredGcStores::RemoveSnapshot(const SnapshotInfo& snapshot) {
  Status status = inner_->RemoveSnapshot(snapshot);
  if (status.ok()) removed_snapshots_.Add();
  return status;
}

void AddGcCollector(const GcScheduler& gc, metrics::Registry& registry) {
  registry.AddCollector([&gc](metrics::Families& out) {
    out.push_back({"berth_gc_runs_total",
                   "Garbage collections run.",
                   metrics::Type::kCounter,
                   {{{}, static_cast<double>(gc.runs())}}});
  });
}

}  // namespace berth::metadata
