// MetadataServer: Leases.
#include "common/time.h"
#include "services/metadata/server_internal.h"

namespace berth::metadata {

using namespace internal;

void MetadataServer::Leases::Create(const v1::CreateLeaseRequest& request,
                                    ipc::Reply<v1::CreateLeaseResponse> reply) {
  LogCall(reply.call());
  v1::Lease lease;
  lease.set_id(request.id());
  *lease.mutable_labels() = request.labels();
  store_.CreateLease(Ns(reply.call()), std::move(lease), [reply](Result<v1::Lease> created) {
    if (!created.ok()) return reply.Fail(created.status());
    v1::CreateLeaseResponse response;
    *response.mutable_lease() = std::move(*created);
    reply.Ok(response);
  });
}

void MetadataServer::Leases::Delete(const v1::DeleteLeaseRequest& request,
                                    ipc::Reply<v1::DeleteLeaseResponse> reply) {
  LogCall(reply.call());
  store_.DeleteLease(Ns(reply.call()), request.id(),
                     [gc = gc_, sync = request.sync(), reply](Status status) {
                       ReplyAfterDelete(gc, sync, reply, status);
                     });
}

void MetadataServer::Leases::List(const v1::ListLeasesRequest& request,
                                  ipc::Reply<v1::ListLeasesResponse> reply) {
  LogCall(reply.call());
  auto filter = Filter::Parse(request.filters());
  if (!filter.ok()) return reply.Fail(filter.status());
  v1::ListLeasesResponse response;
  Status status = store_.ListLeases(Ns(reply.call()), *filter, [&](v1::Lease&& lease) {
    *response.add_leases() = std::move(lease);
  });
  if (!status.ok()) return reply.Fail(status);
  if (response.ByteSizeLong() > kMaxReplyBytes) {
    return reply.Fail(TooLarge(response.leases_size(), "leases"));
  }
  reply.Ok(response);
}

void MetadataServer::Leases::AddResource(const v1::AddLeaseResourceRequest& request,
                                         ipc::Reply<v1::AddLeaseResourceResponse> reply) {
  LogCall(reply.call());
  store_.AddLeaseResource(Ns(reply.call()), request.id(), request.resource(),
                          [reply](Status status) {
                            if (!status.ok()) return reply.Fail(status);
                            reply.Ok(v1::AddLeaseResourceResponse());
                          });
}

void MetadataServer::Leases::DeleteResource(const v1::DeleteLeaseResourceRequest& request,
                                            ipc::Reply<v1::DeleteLeaseResourceResponse> reply) {
  LogCall(reply.call());
  store_.DeleteLeaseResource(Ns(reply.call()), request.id(), request.resource(),
                             [reply](Status status) {
                               if (!status.ok()) return reply.Fail(status);
                               reply.Ok(v1::DeleteLeaseResourceResponse());
                             });
}

void MetadataServer::Leases::ListResources(const v1::ListLeaseResourcesRequest& request,
                                           ipc::Reply<v1::ListLeaseResourcesResponse> reply) {
  LogCall(reply.call());
  auto resources = store_.ListLeaseResources(Ns(reply.call()), request.id());
  if (!resources.ok()) return reply.Fail(resources.status());
  v1::ListLeaseResourcesResponse response;
  for (auto& resource : *resources) *response.add_resources() = std::move(resource);
  if (response.ByteSizeLong() > kMaxReplyBytes) {
    return reply.Fail(TooLarge(response.resources_size(), "lease resources"));
  }
  reply.Ok(response);
}

void MetadataServer::Leases::ListLeasedIngests(
    const v1::ListLeasedIngestsRequest&, ipc::ServerWriter<v1::ListLeasedIngestsResponse> writer) {
  LogCall(writer.call());
  auto refs = store_.LeasedIngests(NowUnixNanos());
  if (!refs.ok()) return writer.Close(refs.status());
  v1::ListLeasedIngestsResponse batch;
  size_t bytes = 0;
  for (const auto& ref : *refs) {
    bytes += ref.size() + 8;
    batch.add_refs(ref);
    if (bytes >= kStreamBatchBytes) {
      writer.Send(batch);
      batch.Clear();
      bytes = 0;
    }
  }
  if (batch.refs_size() > 0) writer.Send(batch);
  writer.Close(Status::Ok());
}

}  // namespace berth::metadata
