#include "services/snapshot/snapshot_server.h"

#include <spdlog/spdlog.h>

#include "services/snapshot/convert.h"

namespace berth::snapshot {
namespace {

constexpr size_t kListBatch = 100;

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return std::vector<std::string>(field.begin(), field.end());
}

}  // namespace

SnapshotServer::SnapshotServer(ipc::EventLoop& loop, std::string default_snapshotter)
    : default_(std::move(default_snapshotter)), queue_(loop) {}

void SnapshotServer::Add(const std::string& name, Snapshotter* snapshotter) {
  snapshotters_[name] = snapshotter;
}

void SnapshotServer::AddFailed(const std::string& name, const Status& reason) {
  failed_[name] = reason;
}

Result<Snapshotter*> SnapshotServer::Find(const std::string& requested) const {
  const std::string& name = requested.empty() ? default_ : requested;
  if (auto it = snapshotters_.find(name); it != snapshotters_.end()) return it->second;
  if (auto it = failed_.find(name); it != failed_.end()) {
    return Error(Code::kFailedPrecondition, "snapshotter \"{}\" is not available: {}", name,
                 it->second.message());
  }
  return Error(Code::kNotFound, "no snapshotter \"{}\" (overlayfs or native)", name);
}

void SnapshotServer::Prepare(const v1::PrepareSnapshotRequest& request,
                             ipc::Reply<v1::PrepareSnapshotResponse> reply) {
  spdlog::debug("rpc Prepare snapshotter={} key={} parent={}", request.snapshotter(), request.key(),
                request.parent());
  queue_.Post([this, request, reply] {
    auto s = Find(request.snapshotter());
    if (!s.ok()) return reply.Fail(s.status());
    auto mounts = (*s)->Prepare(request.key(), request.parent(), LabelsFromProto(request.labels()));
    if (!mounts.ok()) return reply.Fail(mounts.status());
    v1::PrepareSnapshotResponse response;
    ToProto(*mounts, response.mutable_mounts());
    reply.Ok(response);
  });
}

void SnapshotServer::View(const v1::ViewSnapshotRequest& request,
                          ipc::Reply<v1::ViewSnapshotResponse> reply) {
  spdlog::debug("rpc View snapshotter={} key={} parent={}", request.snapshotter(), request.key(),
                request.parent());
  queue_.Post([this, request, reply] {
    auto s = Find(request.snapshotter());
    if (!s.ok()) return reply.Fail(s.status());
    auto mounts = (*s)->View(request.key(), request.parent(), LabelsFromProto(request.labels()));
    if (!mounts.ok()) return reply.Fail(mounts.status());
    v1::ViewSnapshotResponse response;
    ToProto(*mounts, response.mutable_mounts());
    reply.Ok(response);
  });
}

void SnapshotServer::Mounts(const v1::MountsRequest& request,
                            ipc::Reply<v1::MountsResponse> reply) {
  spdlog::debug("rpc Mounts snapshotter={} key={}", request.snapshotter(), request.key());
  queue_.Post([this, request, reply] {
    auto s = Find(request.snapshotter());
    if (!s.ok()) return reply.Fail(s.status());
    auto mounts = (*s)->Mounts(request.key());
    if (!mounts.ok()) return reply.Fail(mounts.status());
    v1::MountsResponse response;
    ToProto(*mounts, response.mutable_mounts());
    reply.Ok(response);
  });
}

void SnapshotServer::Commit(const v1::CommitSnapshotRequest& request,
                            ipc::Reply<v1::CommitSnapshotResponse> reply) {
  spdlog::debug("rpc Commit snapshotter={} key={} name={}", request.snapshotter(), request.key(),
                request.name());
  queue_.Post([this, request, reply] {
    auto s = Find(request.snapshotter());
    if (!s.ok()) return reply.Fail(s.status());
    Status status = (*s)->Commit(request.name(), request.key(), LabelsFromProto(request.labels()));
    if (!status.ok()) return reply.Fail(status);
    reply.Ok(v1::CommitSnapshotResponse());
  });
}

void SnapshotServer::Remove(const v1::RemoveSnapshotRequest& request,
                            ipc::Reply<v1::RemoveSnapshotResponse> reply) {
  spdlog::debug("rpc Remove snapshotter={} key={}", request.snapshotter(), request.key());
  queue_.Post([this, request, reply] {
    auto s = Find(request.snapshotter());
    if (!s.ok()) return reply.Fail(s.status());
    Status status = (*s)->Remove(request.key());
    if (!status.ok()) return reply.Fail(status);
    reply.Ok(v1::RemoveSnapshotResponse());
  });
}

void SnapshotServer::Stat(const v1::StatSnapshotRequest& request,
                          ipc::Reply<v1::StatSnapshotResponse> reply) {
  queue_.Post([this, request, reply] {
    auto s = Find(request.snapshotter());
    if (!s.ok()) return reply.Fail(s.status());
    auto info = (*s)->Stat(request.key());
    if (!info.ok()) return reply.Fail(info.status());
    v1::StatSnapshotResponse response;
    ToProto(*info, response.mutable_info());
    reply.Ok(response);
  });
}

void SnapshotServer::Update(const v1::UpdateSnapshotRequest& request,
                            ipc::Reply<v1::UpdateSnapshotResponse> reply) {
  spdlog::debug("rpc Update snapshotter={} key={}", request.snapshotter(), request.info().name());
  queue_.Post([this, request, reply] {
    auto s = Find(request.snapshotter());
    if (!s.ok()) return reply.Fail(s.status());
    auto info = (*s)->Update(FromProto(request.info()), Strings(request.update_mask()));
    if (!info.ok()) return reply.Fail(info.status());
    v1::UpdateSnapshotResponse response;
    ToProto(*info, response.mutable_info());
    reply.Ok(response);
  });
}

void SnapshotServer::List(const v1::ListSnapshotsRequest& request,
                          ipc::ServerWriter<v1::ListSnapshotsResponse> writer) {
  queue_.Post([this, request, writer] {
    auto s = Find(request.snapshotter());
    if (!s.ok()) return writer.Close(s.status());
    v1::ListSnapshotsResponse batch;
    Status status = (*s)->Walk(
        [&](const Info& info) {
          ToProto(info, batch.add_info());
          if (static_cast<size_t>(batch.info_size()) >= kListBatch) {
            writer.Send(batch);
            batch.Clear();
          }
          return Status::Ok();
        },
        Strings(request.filters()));
    if (status.ok() && batch.info_size() > 0) writer.Send(batch);
    writer.Close(status);
  });
}

void SnapshotServer::Usage(const v1::UsageRequest& request, ipc::Reply<v1::UsageResponse> reply) {
  queue_.Post([this, request, reply] {
    auto s = Find(request.snapshotter());
    if (!s.ok()) return reply.Fail(s.status());
    auto usage = (*s)->GetUsage(request.key());
    if (!usage.ok()) return reply.Fail(usage.status());
    v1::UsageResponse response;
    response.set_size(usage->size);
    response.set_inodes(usage->inodes);
    reply.Ok(response);
  });
}

void SnapshotServer::Cleanup(const v1::CleanupRequest& request,
                             ipc::Reply<v1::CleanupResponse> reply) {
  spdlog::debug("rpc Cleanup snapshotter={}", request.snapshotter());
  queue_.Post([this, request, reply] {
    auto s = Find(request.snapshotter());
    if (!s.ok()) return reply.Fail(s.status());
    auto removed = (*s)->Cleanup();
    if (!removed.ok()) return reply.Fail(removed.status());
    v1::CleanupResponse response;
    response.set_removed(*removed);
    reply.Ok(response);
  });
}

DiffServer::DiffServer(ipc::EventLoop& loop, Differ* differ) : differ_(differ), queue_(loop) {}

void DiffServer::Apply(const berth::diff::v1::ApplyRequest& request,
                       ipc::Reply<berth::diff::v1::ApplyResponse> reply) {
  spdlog::debug("rpc Apply digest={} media_type={}", request.diff().digest(),
                request.diff().media_type());
  queue_.Post([this, request, reply] {
    auto layer = FromProto(request.diff());
    if (!layer.ok()) return reply.Fail(layer.status());
    DiffApplyOptions options;
    options.sync = request.sync_fs();
    auto applied = differ_->Apply(*layer, FromProto(request.mounts()), options);
    if (!applied.ok()) {
      spdlog::info("layer apply failed digest={} error={}", request.diff().digest(),
                   applied.status().ToString());
      return reply.Fail(applied.status());
    }
    berth::diff::v1::ApplyResponse response;
    Descriptor descriptor{
        std::string(kMediaTypeLayer), applied->diff_id, static_cast<int64_t>(applied->size), {}};
    ToProto(descriptor, response.mutable_applied());
    response.set_entries(static_cast<int64_t>(applied->entries));
    reply.Ok(response);
  });
}

void DiffServer::Compare(const berth::diff::v1::CompareRequest& request,
                         ipc::Reply<berth::diff::v1::CompareResponse> reply) {
  spdlog::debug("rpc Compare ref={}", request.ref());
  queue_.Post([this, request, reply] {
    CompareOptions options;
    if (!request.media_type().empty()) options.media_type = request.media_type();
    options.ref = request.ref();
    options.labels = LabelsFromProto(request.labels());
    auto compared =
        differ_->Compare(FromProto(request.left()), FromProto(request.right()), options);
    if (!compared.ok()) return reply.Fail(compared.status());
    berth::diff::v1::CompareResponse response;
    ToProto(compared->descriptor, response.mutable_diff());
    response.set_diff_id(compared->diff_id.ToString());
    reply.Ok(response);
  });
}

}  // namespace berth::snapshot
