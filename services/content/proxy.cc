#include "services/content/proxy.h"

#include <fcntl.h>

#include <cerrno>

#include "berth/content/v1/content.berth.h"
#include "ipc/typed.h"
#include "services/content/convert.h"
#include "services/content/local_store.h"
#include "services/content/proxy_writer.h"

namespace berth::content {

Proxy::Proxy(ipc::Client& client, ProxyOptions options)
    : client_(client), options_(std::move(options)) {}

ipc::CallOptions Proxy::Options(bool stream) const {
  ipc::CallOptions options;
  options.ns = options_.ns;
  if (!stream) options.timeout = options_.timeout;
  return options;
}

Result<Info> Proxy::GetInfo(const Digest& digest) {
  BERTH_RETURN_IF_ERROR(ValidateDigest(digest));
  v1::InfoRequest request;
  request.set_digest(digest.ToString());
  BERTH_ASSIGN_OR_RETURN(
      auto response, v1::ContentClient(client_, options_.service_name).Info(request, Options()));
  return FromProto(response.info());
}

Result<Info> Proxy::Update(const Info& info, const std::vector<std::string>& fieldpaths) {
  BERTH_RETURN_IF_ERROR(ValidateDigest(info.digest));
  v1::UpdateRequest request;
  ToProto(info, request.mutable_info());
  for (const auto& path : fieldpaths) request.add_update_mask(path);
  BERTH_ASSIGN_OR_RETURN(
      auto response, v1::ContentClient(client_, options_.service_name).Update(request, Options()));
  return FromProto(response.info());
}

Status Proxy::Walk(const WalkFn& fn, const std::vector<std::string>& filters) {
  v1::ListContentRequest request;
  for (const auto& filter : filters) request.add_filters(filter);
  auto stream = v1::ContentClient(client_, options_.service_name).List(request, Options(true));
  while (true) {
    BERTH_ASSIGN_OR_RETURN(auto batch, stream.Recv());
    if (!batch) return Status::Ok();
    for (const auto& proto : batch->info()) {
      BERTH_ASSIGN_OR_RETURN(Info info, FromProto(proto));
      BERTH_RETURN_IF_ERROR(fn(info));
    }
  }
}

Status Proxy::Delete(const Digest& digest) {
  BERTH_RETURN_IF_ERROR(ValidateDigest(digest));
  v1::DeleteContentRequest request;
  request.set_digest(digest.ToString());
  auto response = v1::ContentClient(client_, options_.service_name).Delete(request, Options());
  return response.ok() ? Status::Ok() : response.status();
}

Result<std::unique_ptr<ReaderAt>> Proxy::OpenReader(const Digest& digest) {
  BERTH_RETURN_IF_ERROR(ValidateDigest(digest));
  v1::ReadFdRequest request;
  request.set_digest(digest.ToString());
  // The raw call: the typed stub does not return the fds that come with the answer.
  BERTH_ASSIGN_OR_RETURN(
      ipc::Response reply,
      client_.Call(options_.service_name, "ReadFd", ipc::SerializeMessage(request), Options()));
  BERTH_ASSIGN_OR_RETURN(auto response, ipc::ParseMessage<v1::ReadFdResponse>(reply.payload));
  if (reply.fds.size() != 1) {
    return Error(Code::kInternal, "ReadFd of {} answered with {} fds, expected 1", digest,
                 reply.fds.size());
  }
  return std::unique_ptr<ReaderAt>(std::make_unique<FdReaderAt>(
      std::move(reply.fds[0]), static_cast<uint64_t>(response.size())));
}

Result<std::unique_ptr<Writer>> Proxy::OpenWriter(const WriterOptions& options) {
  BERTH_RETURN_IF_ERROR(ValidateRef(options.ref));
  if (!options.expected.empty()) BERTH_RETURN_IF_ERROR(ValidateDigest(options.expected));
  BERTH_RETURN_IF_ERROR(ValidateSource(options.source_fd));
  ipc::CallOptions call = Options(true);
  if (options.source_fd >= 0) {
    // berth-content reads the file through its own copy of the fd.
    UniqueFd source(::fcntl(options.source_fd, F_DUPFD_CLOEXEC, 0));
    if (!source) return ErrnoStatus(errno, "dup the source file");
    call.fds.push_back(std::move(source));
  }
  auto stream = client_.OpenStream(options_.service_name, "Write", "", ipc::StreamKind::kBidi,
                                   std::move(call));
  return ProxyWriter::Open(std::move(stream), options,
                           {.chunk = options_.chunk_size,
                            .window = options_.write_window,
                            .copy_chunk = options_.copy_chunk});
}

Result<IngestStatus> Proxy::GetStatus(const std::string& ref) {
  BERTH_RETURN_IF_ERROR(ValidateRef(ref));
  v1::StatusRequest request;
  request.set_ref(ref);
  BERTH_ASSIGN_OR_RETURN(
      auto response, v1::ContentClient(client_, options_.service_name).Status(request, Options()));
  return FromProto(response.status());
}

Result<std::vector<IngestStatus>> Proxy::ListStatuses(const std::vector<std::string>& filters) {
  v1::ListStatusesRequest request;
  for (const auto& filter : filters) request.add_filters(filter);
  BERTH_ASSIGN_OR_RETURN(
      auto response,
      v1::ContentClient(client_, options_.service_name).ListStatuses(request, Options()));
  std::vector<IngestStatus> statuses;
  for (const auto& proto : response.statuses()) {
    BERTH_ASSIGN_OR_RETURN(IngestStatus status, FromProto(proto));
    statuses.push_back(std::move(status));
  }
  return statuses;
}

Status Proxy::Abort(const std::string& ref) {
  BERTH_RETURN_IF_ERROR(ValidateRef(ref));
  v1::AbortRequest request;
  request.set_ref(ref);
  auto response = v1::ContentClient(client_, options_.service_name).Abort(request, Options());
  return response.ok() ? Status::Ok() : response.status();
}

}  // namespace berth::content
