// MetadataServer: Images.
#include "services/metadata/server_internal.h"

namespace berth::metadata {

using namespace internal;

void MetadataServer::Images::Get(const v1::GetImageRequest& request,
                                 ipc::Reply<v1::GetImageResponse> reply) {
  LogCall(reply.call());
  auto image = store_.GetImage(Ns(reply.call()), request.name());
  if (!image.ok()) return reply.Fail(image.status());
  v1::GetImageResponse response;
  *response.mutable_image() = std::move(*image);
  reply.Ok(response);
}

void MetadataServer::Images::List(const v1::ListImagesRequest& request,
                                  ipc::Reply<v1::ListImagesResponse> reply) {
  LogCall(reply.call());
  auto filter = Filter::Parse(request.filters());
  if (!filter.ok()) return reply.Fail(filter.status());
  v1::ListImagesResponse response;
  size_t bytes = 0;
  Status status = store_.ListImages(Ns(reply.call()), *filter, [&](v1::Image&& image) {
    bytes += image.ByteSizeLong() + 8;
    *response.add_images() = std::move(image);
  });
  if (!status.ok()) return reply.Fail(status);
  if (bytes > kMaxReplyBytes) return reply.Fail(TooLarge(response.images_size(), "images"));
  reply.Ok(response);
}

void MetadataServer::Images::ListStream(const v1::ListImagesRequest& request,
                                        ipc::ServerWriter<v1::ListImagesResponse> writer) {
  LogCall(writer.call());
  auto filter = Filter::Parse(request.filters());
  if (!filter.ok()) return writer.Close(filter.status());
  v1::ListImagesResponse batch;
  size_t bytes = 0;
  Status status = store_.ListImages(Ns(writer.call()), *filter, [&](v1::Image&& image) {
    bytes += image.ByteSizeLong() + 8;
    *batch.add_images() = std::move(image);
    if (bytes >= kStreamBatchBytes) {
      writer.Send(batch);
      batch.Clear();
      bytes = 0;
    }
  });
  if (status.ok() && batch.images_size() > 0) writer.Send(batch);
  writer.Close(status);
}

void MetadataServer::Images::Create(const v1::CreateImageRequest& request,
                                    ipc::Reply<v1::CreateImageResponse> reply) {
  LogCall(reply.call());
  store_.CreateImage(Ns(reply.call()), request.image(), [reply](Result<v1::Image> image) {
    if (!image.ok()) return reply.Fail(image.status());
    v1::CreateImageResponse response;
    *response.mutable_image() = std::move(*image);
    reply.Ok(response);
  });
}

void MetadataServer::Images::Update(const v1::UpdateImageRequest& request,
                                    ipc::Reply<v1::UpdateImageResponse> reply) {
  LogCall(reply.call());
  store_.UpdateImage(Ns(reply.call()), request.image(), Paths(request.update_mask()),
                     [reply](Result<v1::Image> image) {
                       if (!image.ok()) return reply.Fail(image.status());
                       v1::UpdateImageResponse response;
                       *response.mutable_image() = std::move(*image);
                       reply.Ok(response);
                     });
}

void MetadataServer::Images::Delete(const v1::DeleteImageRequest& request,
                                    ipc::Reply<v1::DeleteImageResponse> reply) {
  LogCall(reply.call());
  std::string expected = request.has_target() ? request.target().digest() : std::string();
  store_.DeleteImage(Ns(reply.call()), request.name(), expected,
                     [gc = gc_, sync = request.sync(), reply](Status status) {
                       ReplyAfterDelete(gc, sync, reply, status);
                     });
}

}  // namespace berth::metadata
