// MetadataServer: Containers.
#include "services/metadata/server_internal.h"

namespace berth::metadata {

using namespace internal;

void MetadataServer::Containers::Get(const v1::GetContainerRequest& request,
                                     ipc::Reply<v1::GetContainerResponse> reply) {
  LogCall(reply.call());
  auto container = store_.GetContainer(Ns(reply.call()), request.id());
  if (!container.ok()) return reply.Fail(container.status());
  v1::GetContainerResponse response;
  *response.mutable_container() = std::move(*container);
  reply.Ok(response);
}

void MetadataServer::Containers::List(const v1::ListContainersRequest& request,
                                      ipc::Reply<v1::ListContainersResponse> reply) {
  LogCall(reply.call());
  auto filter = Filter::Parse(request.filters());
  if (!filter.ok()) return reply.Fail(filter.status());
  v1::ListContainersResponse response;
  size_t bytes = 0;
  Status status = store_.ListContainers(Ns(reply.call()), *filter, [&](v1::Container&& c) {
    bytes += c.ByteSizeLong() + 8;
    *response.add_containers() = std::move(c);
  });
  if (!status.ok()) return reply.Fail(status);
  if (bytes > kMaxReplyBytes) {
    return reply.Fail(TooLarge(response.containers_size(), "containers"));
  }
  reply.Ok(response);
}

void MetadataServer::Containers::ListStream(const v1::ListContainersRequest& request,
                                            ipc::ServerWriter<v1::ListContainersResponse> writer) {
  LogCall(writer.call());
  auto filter = Filter::Parse(request.filters());
  if (!filter.ok()) return writer.Close(filter.status());
  v1::ListContainersResponse batch;
  size_t bytes = 0;
  Status status = store_.ListContainers(Ns(writer.call()), *filter, [&](v1::Container&& c) {
    bytes += c.ByteSizeLong() + 8;
    *batch.add_containers() = std::move(c);
    if (bytes >= kStreamBatchBytes) {
      writer.Send(batch);
      batch.Clear();
      bytes = 0;
    }
  });
  if (status.ok() && batch.containers_size() > 0) writer.Send(batch);
  writer.Close(status);
}

void MetadataServer::Containers::Create(const v1::CreateContainerRequest& request,
                                        ipc::Reply<v1::CreateContainerResponse> reply) {
  LogCall(reply.call());
  store_.CreateContainer(Ns(reply.call()), request.container(),
                         [reply](Result<v1::Container> container) {
                           if (!container.ok()) return reply.Fail(container.status());
                           v1::CreateContainerResponse response;
                           *response.mutable_container() = std::move(*container);
                           reply.Ok(response);
                         });
}

void MetadataServer::Containers::Update(const v1::UpdateContainerRequest& request,
                                        ipc::Reply<v1::UpdateContainerResponse> reply) {
  LogCall(reply.call());
  store_.UpdateContainer(Ns(reply.call()), request.container(), Paths(request.update_mask()),
                         [reply](Result<v1::Container> container) {
                           if (!container.ok()) return reply.Fail(container.status());
                           v1::UpdateContainerResponse response;
                           *response.mutable_container() = std::move(*container);
                           reply.Ok(response);
                         });
}

void MetadataServer::Containers::Delete(const v1::DeleteContainerRequest& request,
                                        ipc::Reply<v1::DeleteContainerResponse> reply) {
  LogCall(reply.call());
  store_.DeleteContainer(Ns(reply.call()), request.id(), [reply](Status status) {
    if (!status.ok()) return reply.Fail(status);
    reply.Ok(v1::DeleteContainerResponse());
  });
}

}  // namespace berth::metadata
