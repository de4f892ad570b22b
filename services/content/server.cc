#include "services/content/server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <cerrno>

#include "services/content/convert.h"
#include "services/content/write_session.h"

namespace berth::content {

namespace {

constexpr size_t kReadChunk = 1 << 20;
constexpr size_t kListBatchBytes = 1 << 20;
// A Read stream waits while this much is queued for a peer that reads slowly.
constexpr size_t kMaxQueuedRead = 4 << 20;

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& list) {
  return {list.begin(), list.end()};
}

}  // namespace

ContentServer::ContentServer(ipc::EventLoop& loop, Store& store, Publisher publish)
    : loop_(loop),
      store_(store),
      publish_(std::move(publish)),
      runner_(std::make_unique<BlockingRunner>(loop)) {}

ContentServer::~ContentServer() = default;

void ContentServer::Info(const v1::InfoRequest& request, ipc::Reply<v1::InfoResponse> reply) {
  spdlog::debug("rpc Info digest={}", request.digest());
  auto digest = ParseDigest(request.digest());
  if (!digest.ok()) return reply.Fail(digest.status());
  runner_->Run<Result<content::Info>>([this, d = *digest] { return store_.GetInfo(d); },
                                      [reply](Result<content::Info> info) {
                                        if (!info.ok()) return reply.Fail(info.status());
                                        v1::InfoResponse response;
                                        ToProto(*info, response.mutable_info());
                                        reply.Ok(response);
                                      });
}

void ContentServer::Update(const v1::UpdateRequest& request, ipc::Reply<v1::UpdateResponse> reply) {
  spdlog::debug("rpc Update digest={}", request.info().digest());
  auto info = FromProto(request.info());
  if (!info.ok()) return reply.Fail(info.status());
  runner_->Run<Result<content::Info>>(
      [this, info = *info, paths = Strings(request.update_mask())] {
        return store_.Update(info, paths);
      },
      [reply](Result<content::Info> updated) {
        if (!updated.ok()) return reply.Fail(updated.status());
        v1::UpdateResponse response;
        ToProto(*updated, response.mutable_info());
        reply.Ok(response);
      });
}

void ContentServer::List(const v1::ListContentRequest& request,
                         ipc::ServerWriter<v1::ListContentResponse> writer) {
  spdlog::debug("rpc List filters={}", request.filters_size());
  using Infos = std::vector<content::Info>;
  runner_->Run<Result<Infos>>(
      [this, filters = Strings(request.filters())]() -> Result<Infos> {
        Infos infos;
        BERTH_RETURN_IF_ERROR(store_.Walk(
            [&](const content::Info& info) {
              infos.push_back(info);
              return berth::Status::Ok();
            },
            filters));
        return infos;
      },
      [writer](Result<Infos> infos) {
        if (!infos.ok()) return writer.Close(infos.status());
        v1::ListContentResponse batch;
        for (const auto& info : *infos) {
          ToProto(info, batch.add_info());
          if (batch.ByteSizeLong() >= kListBatchBytes) {
            writer.Send(batch);
            batch.Clear();
          }
        }
        if (batch.info_size() > 0) writer.Send(batch);
        writer.Close();
      });
}

void ContentServer::Delete(const v1::DeleteContentRequest& request,
                           ipc::Reply<v1::DeleteContentResponse> reply) {
  spdlog::debug("rpc Delete digest={}", request.digest());
  auto digest = ParseDigest(request.digest());
  if (!digest.ok()) return reply.Fail(digest.status());
  runner_->Run<berth::Status>([this, d = *digest] { return store_.Delete(d); },
                              [this, reply, d = *digest](berth::Status status) {
                                if (!status.ok()) return reply.Fail(status);
                                spdlog::info("deleted content digest={}", d);
                                if (publish_) {
                                  v1::ContentDelete event;
                                  event.set_digest(d.ToString());
                                  publish_(reply.call().Namespace(), "/content/delete", event);
                                }
                                reply.Ok(v1::DeleteContentResponse());
                              });
}

struct ContentServer::ReadState {
  ipc::ServerWriter<v1::ReadContentResponse> writer;
  std::shared_ptr<ReaderAt> reader;
  uint64_t offset = 0;
  uint64_t end = 0;
  bool cancelled = false;
};

void ContentServer::Read(const v1::ReadContentRequest& request,
                         ipc::ServerWriter<v1::ReadContentResponse> writer) {
  spdlog::debug("rpc Read digest={} offset={} size={}", request.digest(), request.offset(),
                request.size());
  auto digest = ParseDigest(request.digest());
  if (!digest.ok()) return writer.Close(digest.status());
  if (request.offset() < 0 || request.size() < 0) {
    return writer.Close(berth::Status(Code::kInvalidArgument, "offset and size must be >= 0"));
  }
  auto state = std::make_shared<ReadState>(ReadState{.writer = writer});
  writer.OnCancel([state] { state->cancelled = true; });
  uint64_t offset = static_cast<uint64_t>(request.offset());
  uint64_t size = static_cast<uint64_t>(request.size());
  runner_->Run<Result<std::unique_ptr<ReaderAt>>>(
      [this, d = *digest] { return store_.OpenReader(d); },
      [this, state, offset, size, d = *digest](Result<std::unique_ptr<ReaderAt>> reader) {
        if (!reader.ok()) return state->writer.Close(reader.status());
        state->reader = std::move(reader).value();
        uint64_t blob_size = state->reader->Size();
        if (offset > blob_size) {
          return state->writer.Close(Error(Code::kOutOfRange,
                                           "offset {} is past the end of {} ({} bytes)", offset, d,
                                           blob_size));
        }
        state->offset = offset;
        state->end = size == 0 ? blob_size : std::min(blob_size, offset + size);
        ReadNext(state);
      });
}

// One chunk at a time: read on the threadpool, send from the loop, then the next one.
void ContentServer::ReadNext(std::shared_ptr<ReadState> state) {
  if (state->cancelled) return;
  if (state->offset >= state->end) return state->writer.Close();
  if (state->writer.call().QueuedOutputBytes() > kMaxQueuedRead) {
    loop_.After(1, [this, state, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.lock()) ReadNext(state);
    });
    return;
  }
  size_t want = static_cast<size_t>(std::min<uint64_t>(kReadChunk, state->end - state->offset));
  runner_->Run<Result<std::string>>(
      [state, want]() -> Result<std::string> {
        std::string data(want, '\0');
        BERTH_ASSIGN_OR_RETURN(size_t n, state->reader->ReadAt(state->offset, data.data(), want));
        data.resize(n);
        return data;
      },
      [this, state](Result<std::string> data) {
        if (!data.ok()) return state->writer.Close(data.status());
        if (data->empty()) {
          return state->writer.Close(berth::Status(Code::kDataLoss, "blob ended early"));
        }
        v1::ReadContentResponse response;
        response.set_offset(static_cast<int64_t>(state->offset));
        state->offset += data->size();
        response.set_data(std::move(data).value());
        state->writer.Send(response);
        ReadNext(state);
      });
}

void ContentServer::ReadFd(const v1::ReadFdRequest& request, ipc::Reply<v1::ReadFdResponse> reply) {
  spdlog::debug("rpc ReadFd digest={}", request.digest());
  auto digest = ParseDigest(request.digest());
  if (!digest.ok()) return reply.Fail(digest.status());
  using Opened = std::pair<UniqueFd, uint64_t>;
  runner_->Run<Result<Opened>>(
      [this, d = *digest]() -> Result<Opened> {
        BERTH_ASSIGN_OR_RETURN(auto reader, store_.OpenReader(d));
        if (reader->fd() < 0) {
          return berth::Status(Code::kUnimplemented, "this store has no fd for its blobs");
        }
        UniqueFd fd(::fcntl(reader->fd(), F_DUPFD_CLOEXEC, 0));
        if (!fd) return ErrnoStatus(errno, "dup blob fd");
        return Opened(std::move(fd), reader->Size());
      },
      [reply](Result<Opened> opened) {
        if (!opened.ok()) return reply.Fail(opened.status());
        v1::ReadFdResponse response;
        response.set_size(static_cast<int64_t>(opened->second));
        std::vector<UniqueFd> fds;
        fds.push_back(std::move(opened->first));
        reply.Ok(response, std::move(fds));
      });
}

void ContentServer::Status(const v1::StatusRequest& request, ipc::Reply<v1::StatusResponse> reply) {
  spdlog::debug("rpc Status ref={}", request.ref());
  runner_->Run<Result<IngestStatus>>([this, ref = request.ref()] { return store_.GetStatus(ref); },
                                     [reply](Result<IngestStatus> status) {
                                       if (!status.ok()) return reply.Fail(status.status());
                                       v1::StatusResponse response;
                                       ToProto(*status, response.mutable_status());
                                       reply.Ok(response);
                                     });
}

void ContentServer::ListStatuses(const v1::ListStatusesRequest& request,
                                 ipc::Reply<v1::ListStatusesResponse> reply) {
  spdlog::debug("rpc ListStatuses filters={}", request.filters_size());
  using Statuses = std::vector<IngestStatus>;
  runner_->Run<Result<Statuses>>(
      [this, filters = Strings(request.filters())] { return store_.ListStatuses(filters); },
      [reply](Result<Statuses> statuses) {
        if (!statuses.ok()) return reply.Fail(statuses.status());
        v1::ListStatusesResponse response;
        for (const auto& status : *statuses) ToProto(status, response.add_statuses());
        reply.Ok(response);
      });
}

void ContentServer::Write(
    ipc::ServerBidi<v1::WriteContentRequest, v1::WriteContentResponse> stream) {
  spdlog::debug("rpc Write");
  WriteSession::Start(*runner_, store_, std::move(stream));
}

void ContentServer::Abort(const v1::AbortRequest& request, ipc::Reply<v1::AbortResponse> reply) {
  spdlog::debug("rpc Abort ref={}", request.ref());
  runner_->Run<berth::Status>([this, ref = request.ref()] { return store_.Abort(ref); },
                              [reply](berth::Status status) {
                                if (!status.ok()) return reply.Fail(status);
                                reply.Ok(v1::AbortResponse());
                              });
}

}  // namespace berth::content
