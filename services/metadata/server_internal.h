#pragma once
// MetadataServer's service classes (one per proto service) and shared helpers.

#include <google/protobuf/field_mask.pb.h>
#include <spdlog/spdlog.h>

#include <string>
#include <vector>

#include "berth/metadata/v1/containers.berth.h"
#include "berth/metadata/v1/gc.berth.h"
#include "berth/metadata/v1/images.berth.h"
#include "berth/metadata/v1/leases.berth.h"
#include "berth/metadata/v1/namespaces.berth.h"
#include "services/metadata/gc.h"
#include "services/metadata/metadata.h"
#include "services/metadata/server.h"

namespace berth::metadata::internal {

// Replies must fit a 4 MiB ttrpc frame, with room for the envelope.
inline constexpr size_t kMaxReplyBytes = (size_t{4} << 20) - (size_t{64} << 10);
// ListStream batches.
inline constexpr size_t kStreamBatchBytes = size_t{1} << 20;

inline std::string Ns(const ipc::ServerCall& call) { return call.Namespace("default"); }

inline std::vector<std::string> Paths(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

inline void LogCall(const ipc::ServerCall& call) {
  spdlog::debug("rpc service={} method={} ns={}", call.service(), call.method(), Ns(call));
}

inline Status TooLarge(size_t count, std::string_view what) {
  return Error(Code::kResourceExhausted,
               "{} {} do not fit in one reply: use ListStream (berthctl does) or a filter", count,
               what);
}

// Runs a sync collection after a delete when asked, then replies with its report.
template <typename Resp>
void ReplyAfterDelete(GcScheduler* gc, bool sync, ipc::Reply<Resp> reply, Status deleted) {
  if (!deleted.ok() || !sync || gc == nullptr)
    return reply(deleted.ok() ? Result<Resp>(Resp()) : deleted);
  gc->Collect(false, [reply](Result<GcReport> report) {
    if (!report.ok()) {
      return reply.Fail(report.status().Annotate("deleted, but garbage collection failed"));
    }
    Resp response;
    report->ToProto(response.mutable_gc());
    reply.Ok(response);
  });
}

}  // namespace berth::metadata::internal

namespace berth::metadata {

class MetadataServer::Namespaces : public v1::NamespacesService {
 public:
  explicit Namespaces(MetadataStore& store) : store_(store) {}
  void Get(const v1::GetNamespaceRequest&, ipc::Reply<v1::GetNamespaceResponse>) override;
  void List(const v1::ListNamespacesRequest&, ipc::Reply<v1::ListNamespacesResponse>) override;
  void Create(const v1::CreateNamespaceRequest&, ipc::Reply<v1::CreateNamespaceResponse>) override;
  void Update(const v1::UpdateNamespaceRequest&, ipc::Reply<v1::UpdateNamespaceResponse>) override;
  void Delete(const v1::DeleteNamespaceRequest&, ipc::Reply<v1::DeleteNamespaceResponse>) override;

 private:
  MetadataStore& store_;
};

class MetadataServer::Images : public v1::ImagesService {
 public:
  Images(MetadataStore& store, GcScheduler* gc) : store_(store), gc_(gc) {}
  void Get(const v1::GetImageRequest&, ipc::Reply<v1::GetImageResponse>) override;
  void List(const v1::ListImagesRequest&, ipc::Reply<v1::ListImagesResponse>) override;
  void ListStream(const v1::ListImagesRequest&, ipc::ServerWriter<v1::ListImagesResponse>) override;
  void Create(const v1::CreateImageRequest&, ipc::Reply<v1::CreateImageResponse>) override;
  void Update(const v1::UpdateImageRequest&, ipc::Reply<v1::UpdateImageResponse>) override;
  void Delete(const v1::DeleteImageRequest&, ipc::Reply<v1::DeleteImageResponse>) override;

 private:
  MetadataStore& store_;
  GcScheduler* gc_;
};

class MetadataServer::Containers : public v1::ContainersService {
 public:
  explicit Containers(MetadataStore& store) : store_(store) {}
  void Get(const v1::GetContainerRequest&, ipc::Reply<v1::GetContainerResponse>) override;
  void List(const v1::ListContainersRequest&, ipc::Reply<v1::ListContainersResponse>) override;
  void ListStream(const v1::ListContainersRequest&,
                  ipc::ServerWriter<v1::ListContainersResponse>) override;
  void Create(const v1::CreateContainerRequest&, ipc::Reply<v1::CreateContainerResponse>) override;
  void Update(const v1::UpdateContainerRequest&, ipc::Reply<v1::UpdateContainerResponse>) override;
  void Delete(const v1::DeleteContainerRequest&, ipc::Reply<v1::DeleteContainerResponse>) override;

 private:
  MetadataStore& store_;
};

class MetadataServer::Leases : public v1::LeasesService {
 public:
  Leases(MetadataStore& store, GcScheduler* gc) : store_(store), gc_(gc) {}
  void Create(const v1::CreateLeaseRequest&, ipc::Reply<v1::CreateLeaseResponse>) override;
  void Delete(const v1::DeleteLeaseRequest&, ipc::Reply<v1::DeleteLeaseResponse>) override;
  void List(const v1::ListLeasesRequest&, ipc::Reply<v1::ListLeasesResponse>) override;
  void AddResource(const v1::AddLeaseResourceRequest&,
                   ipc::Reply<v1::AddLeaseResourceResponse>) override;
  void DeleteResource(const v1::DeleteLeaseResourceRequest&,
                      ipc::Reply<v1::DeleteLeaseResourceResponse>) override;
  void ListResources(const v1::ListLeaseResourcesRequest&,
                     ipc::Reply<v1::ListLeaseResourcesResponse>) override;
  void ListLeasedIngests(const v1::ListLeasedIngestsRequest&,
                         ipc::ServerWriter<v1::ListLeasedIngestsResponse>) override;

 private:
  MetadataStore& store_;
  GcScheduler* gc_;
};

class MetadataServer::Gc : public v1::GCService {
 public:
  explicit Gc(GcScheduler* gc) : gc_(gc) {}
  void Collect(const v1::CollectRequest&, ipc::Reply<v1::CollectResponse>) override;

 private:
  GcScheduler* gc_;
};

}  // namespace berth::metadata
