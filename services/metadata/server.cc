// MetadataServer: registration, namespaces and GC.
#include "services/metadata/server.h"

#include "services/metadata/server_internal.h"

namespace berth::metadata {

using namespace internal;

MetadataServer::MetadataServer(MetadataStore& store, GcScheduler* gc)
    : namespaces_(std::make_unique<Namespaces>(store)),
      images_(std::make_unique<Images>(store, gc)),
      containers_(std::make_unique<Containers>(store)),
      leases_(std::make_unique<Leases>(store, gc)),
      gc_(std::make_unique<Gc>(gc)) {}

MetadataServer::~MetadataServer() = default;

void MetadataServer::RegisterWith(ipc::Server& server) {
  namespaces_->RegisterWith(server);
  images_->RegisterWith(server);
  containers_->RegisterWith(server);
  leases_->RegisterWith(server);
  gc_->RegisterWith(server);
}

// ---- Namespaces ----

void MetadataServer::Namespaces::Get(const v1::GetNamespaceRequest& request,
                                     ipc::Reply<v1::GetNamespaceResponse> reply) {
  LogCall(reply.call());
  auto ns = store_.GetNamespace(request.name());
  if (!ns.ok()) return reply.Fail(ns.status());
  v1::GetNamespaceResponse response;
  *response.mutable_namespace_() = std::move(*ns);
  reply.Ok(response);
}

void MetadataServer::Namespaces::List(const v1::ListNamespacesRequest& request,
                                      ipc::Reply<v1::ListNamespacesResponse> reply) {
  LogCall(reply.call());
  auto filter = Filter::Parse(request.filters());
  if (!filter.ok()) return reply.Fail(filter.status());
  v1::ListNamespacesResponse response;
  Status status = store_.ListNamespaces(
      *filter, [&](v1::Namespace&& ns) { *response.add_namespaces() = std::move(ns); });
  if (!status.ok()) return reply.Fail(status);
  if (response.ByteSizeLong() > kMaxReplyBytes) {
    return reply.Fail(TooLarge(response.namespaces_size(), "namespaces"));
  }
  reply.Ok(response);
}

void MetadataServer::Namespaces::Create(const v1::CreateNamespaceRequest& request,
                                        ipc::Reply<v1::CreateNamespaceResponse> reply) {
  LogCall(reply.call());
  store_.CreateNamespace(request.namespace_(), [reply](Result<v1::Namespace> ns) {
    if (!ns.ok()) return reply.Fail(ns.status());
    v1::CreateNamespaceResponse response;
    *response.mutable_namespace_() = std::move(*ns);
    reply.Ok(response);
  });
}

void MetadataServer::Namespaces::Update(const v1::UpdateNamespaceRequest& request,
                                        ipc::Reply<v1::UpdateNamespaceResponse> reply) {
  LogCall(reply.call());
  store_.UpdateNamespace(request.namespace_(), Paths(request.update_mask()),
                         [reply](Result<v1::Namespace> ns) {
                           if (!ns.ok()) return reply.Fail(ns.status());
                           v1::UpdateNamespaceResponse response;
                           *response.mutable_namespace_() = std::move(*ns);
                           reply.Ok(response);
                         });
}

void MetadataServer::Namespaces::Delete(const v1::DeleteNamespaceRequest& request,
                                        ipc::Reply<v1::DeleteNamespaceResponse> reply) {
  LogCall(reply.call());
  store_.DeleteNamespace(request.name(), [reply](Status status) {
    if (!status.ok()) return reply.Fail(status);
    reply.Ok(v1::DeleteNamespaceResponse());
  });
}

// ---- GC ----

void MetadataServer::Gc::Collect(const v1::CollectRequest& request,
                                 ipc::Reply<v1::CollectResponse> reply) {
  LogCall(reply.call());
  if (gc_ == nullptr) {
    return reply.Fail(
        Status(Code::kFailedPrecondition, "garbage collection is disabled in this berth-metadata"));
  }
  gc_->Collect(request.dry_run(), [reply](Result<GcReport> report) {
    if (!report.ok()) return reply.Fail(report.status());
    v1::CollectResponse response;
    report->ToProto(&response);
    reply.Ok(response);
  });
}

}  // namespace berth::metadata
