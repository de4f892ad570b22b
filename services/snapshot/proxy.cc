#include "services/snapshot/proxy.h"

#include "services/snapshot/convert.h"

namespace berth::snapshot {

SnapshotterProxy::SnapshotterProxy(ipc::Client& client, std::string snapshotter,
                                   ProxyOptions options)
    : client_(client), snapshotter_(std::move(snapshotter)), options_(std::move(options)) {}

ipc::CallOptions SnapshotterProxy::Options() const {
  ipc::CallOptions options;
  options.ns = options_.ns;
  options.timeout = options_.timeout;
  return options;
}

Result<Info> SnapshotterProxy::Stat(const std::string& key) {
  v1::StatSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(key);
  BERTH_ASSIGN_OR_RETURN(auto response, client_.Stat(request, Options()));
  return FromProto(response.info());
}

Result<Info> SnapshotterProxy::Update(const Info& info,
                                      const std::vector<std::string>& fieldpaths) {
  v1::UpdateSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  ToProto(info, request.mutable_info());
  for (const std::string& path : fieldpaths) request.add_update_mask(path);
  BERTH_ASSIGN_OR_RETURN(auto response, client_.Update(request, Options()));
  return FromProto(response.info());
}

Result<Usage> SnapshotterProxy::GetUsage(const std::string& key) {
  v1::UsageRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(key);
  BERTH_ASSIGN_OR_RETURN(auto response, client_.Usage(request, Options()));
  return Usage{response.size(), response.inodes()};
}

Result<std::vector<Mount>> SnapshotterProxy::Mounts(const std::string& key) {
  v1::MountsRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(key);
  BERTH_ASSIGN_OR_RETURN(auto response, client_.Mounts(request, Options()));
  return FromProto(response.mounts());
}

Result<std::vector<Mount>> SnapshotterProxy::Prepare(const std::string& key,
                                                     const std::string& parent,
                                                     const Labels& labels) {
  v1::PrepareSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(key);
  request.set_parent(parent);
  LabelsToProto(labels, request.mutable_labels());
  BERTH_ASSIGN_OR_RETURN(auto response, client_.Prepare(request, Options()));
  return FromProto(response.mounts());
}

Result<std::vector<Mount>> SnapshotterProxy::View(const std::string& key, const std::string& parent,
                                                  const Labels& labels) {
  v1::ViewSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(key);
  request.set_parent(parent);
  LabelsToProto(labels, request.mutable_labels());
  BERTH_ASSIGN_OR_RETURN(auto response, client_.View(request, Options()));
  return FromProto(response.mounts());
}

Status SnapshotterProxy::Commit(const std::string& name, const std::string& key,
                                const Labels& labels) {
  v1::CommitSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_name(name);
  request.set_key(key);
  LabelsToProto(labels, request.mutable_labels());
  return client_.Commit(request, Options()).status();
}

Status SnapshotterProxy::Remove(const std::string& key) {
  v1::RemoveSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(key);
  return client_.Remove(request, Options()).status();
}

Status SnapshotterProxy::Walk(const WalkFn& fn, const std::vector<std::string>& filters) {
  v1::ListSnapshotsRequest request;
  request.set_snapshotter(snapshotter_);
  for (const std::string& filter : filters) request.add_filters(filter);
  auto stream = client_.List(request, Options());
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(auto batch, stream.Recv());
    if (!batch) return Status::Ok();
    for (const auto& info : batch->info()) BERTH_RETURN_IF_ERROR(fn(FromProto(info)));
  }
}

Result<int64_t> SnapshotterProxy::Cleanup() {
  v1::CleanupRequest request;
  request.set_snapshotter(snapshotter_);
  BERTH_ASSIGN_OR_RETURN(auto response, client_.Cleanup(request, Options()));
  return response.removed();
}

DifferProxy::DifferProxy(ipc::Client& client, ProxyOptions options)
    : client_(client), options_(std::move(options)) {}

ipc::CallOptions DifferProxy::Options() const {
  ipc::CallOptions options;
  options.ns = options_.ns;
  options.timeout = options_.timeout;
  return options;
}

Result<ApplyResult> DifferProxy::Apply(const Descriptor& layer, const std::vector<Mount>& mounts,
                                       const DiffApplyOptions& options) {
  berth::diff::v1::ApplyRequest request;
  ToProto(layer, request.mutable_diff());
  ToProto(mounts, request.mutable_mounts());
  request.set_sync_fs(options.sync);
  BERTH_ASSIGN_OR_RETURN(auto response, client_.Apply(request, Options()));
  ApplyResult result;
  BERTH_ASSIGN_OR_RETURN(result.diff_id, ParseDigest(response.applied().digest()));
  result.size = static_cast<uint64_t>(response.applied().size());
  result.entries = static_cast<uint64_t>(response.entries());
  return result;
}

Result<CompareResult> DifferProxy::Compare(const std::vector<Mount>& lower,
                                           const std::vector<Mount>& upper,
                                           const CompareOptions& options) {
  berth::diff::v1::CompareRequest request;
  ToProto(lower, request.mutable_left());
  ToProto(upper, request.mutable_right());
  request.set_media_type(options.media_type);
  request.set_ref(options.ref);
  LabelsToProto(options.labels, request.mutable_labels());
  BERTH_ASSIGN_OR_RETURN(auto response, client_.Compare(request, Options()));
  CompareResult result;
  BERTH_ASSIGN_OR_RETURN(result.descriptor, FromProto(response.diff()));
  BERTH_ASSIGN_OR_RETURN(result.diff_id, ParseDigest(response.diff_id()));
  return result;
}

}  // namespace berth::snapshot
