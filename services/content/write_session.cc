#include "services/content/write_session.h"

#include <spdlog/spdlog.h>

#include "services/content/convert.h"

namespace berth::content {

void WriteSession::Start(BlockingRunner& runner, Store& store, Stream stream) {
  std::shared_ptr<WriteSession> session(new WriteSession(runner, store, stream));
  session->source_fds_ = stream.call().TakeFds();
  // The stream's callbacks hold the session; the call drops them when it ends or is cancelled.
  stream.OnMessage(
      [session](v1::WriteContentRequest request) { session->OnMessage(std::move(request)); });
  stream.OnEnd([session] { session->OnEnd(); });
  stream.OnCancel([session] { session->OnCancel(); });
}

void WriteSession::OnMessage(v1::WriteContentRequest request) {
  if (ended_) return;
  queue_.push_back(std::move(request));
  Pump();
}

void WriteSession::OnEnd() {
  remote_ended_ = true;
  Pump();
}

void WriteSession::OnCancel() {
  auto self = shared_from_this();
  spdlog::debug("write stream cancelled ref={}", ref_);
  ended_ = true;
  queue_.clear();
  if (!busy_) writer_.reset();
}

void WriteSession::End(const Status& status) {
  if (ended_) return;
  // Closing the stream drops its callbacks, which may hold the last reference to this session.
  auto self = shared_from_this();
  ended_ = true;
  queue_.clear();
  if (!status.ok()) spdlog::debug("write stream failed ref={}: {}", ref_, status.ToString());
  stream_.Close(status);
  if (!busy_) writer_.reset();
}

void WriteSession::Pump() {
  if (busy_ || ended_) return;
  if (queue_.empty()) {
    if (remote_ended_) End(Status::Ok());
    return;
  }
  busy_ = true;
  auto request = std::make_shared<v1::WriteContentRequest>(std::move(queue_.front()));
  queue_.pop_front();
  auto self = shared_from_this();
  runner_.Run<Result<v1::WriteContentResponse>>([self, request] { return self->Process(*request); },
                                                [self](Result<v1::WriteContentResponse> response) {
                                                  self->busy_ = false;
                                                  if (self->ended_) {
                                                    self->writer_.reset();
                                                    return;
                                                  }
                                                  if (!response.ok())
                                                    return self->End(response.status());
                                                  self->stream_.Send(*response);
                                                  self->Pump();
                                                });
}

Result<v1::WriteContentResponse> WriteSession::Process(const v1::WriteContentRequest& request) {
  if (committed_) {
    return Error(Code::kFailedPrecondition, "ref \"{}\" was already committed on this stream",
                 ref_);
  }
  if (!writer_) {
    BERTH_RETURN_IF_ERROR(Open(request));
  } else if (!request.ref().empty() && request.ref() != ref_) {
    return Error(Code::kInvalidArgument, "this stream writes ref \"{}\", not \"{}\"", ref_,
                 request.ref());
  }
  switch (request.action()) {
    case v1::STAT:
      return Describe(v1::STAT);
    case v1::WRITE:
      BERTH_RETURN_IF_ERROR(WriteAt(request));
      return Describe(v1::WRITE);
    case v1::COMMIT:
      if (!request.data().empty()) BERTH_RETURN_IF_ERROR(WriteAt(request));
      return Commit(request);
    case v1::COPY:
      BERTH_RETURN_IF_ERROR(CopyAt(request));
      return Describe(v1::COPY);
    default:
      return Error(Code::kInvalidArgument, "unknown write action {}",
                   static_cast<int>(request.action()));
  }
}

Status WriteSession::Open(const v1::WriteContentRequest& request) {
  if (request.ref().empty()) {
    return Status(Code::kInvalidArgument, "the first message of a write must name the ref");
  }
  if (request.total() < 0) return Status(Code::kInvalidArgument, "total must be >= 0");
  BERTH_ASSIGN_OR_RETURN(Digest expected, ParseOptionalDigest(request.expected()));
  if (source_fds_.size() > 1) {
    return Error(Code::kInvalidArgument, "a write takes one source file, {} fds came with it",
                 source_fds_.size());
  }
  WriterOptions options{.ref = request.ref(),
                        .total = static_cast<uint64_t>(request.total()),
                        .expected = expected,
                        .source_fd = source_fds_.empty() ? -1 : source_fds_[0].get()};
  BERTH_ASSIGN_OR_RETURN(writer_, store_.OpenWriter(options));
  ref_ = request.ref();
  return Status::Ok();
}

Status WriteSession::SeekTo(int64_t requested) {
  if (requested < 0) return Status(Code::kInvalidArgument, "offset must be >= 0");
  uint64_t offset = static_cast<uint64_t>(requested);
  BERTH_ASSIGN_OR_RETURN(IngestStatus status, writer_->GetStatus());
  if (offset > status.offset) {
    return Error(Code::kOutOfRange,
                 "write of ref \"{}\" at offset {}: only {} bytes were written (ask for the "
                 "status and resume from there)",
                 ref_, offset, status.offset);
  }
  if (offset < status.offset) BERTH_RETURN_IF_ERROR(writer_->Truncate(offset));
  return Status::Ok();
}

Status WriteSession::WriteAt(const v1::WriteContentRequest& request) {
  BERTH_RETURN_IF_ERROR(SeekTo(request.offset()));
  return writer_->Write(request.data());
}

Status WriteSession::CopyAt(const v1::WriteContentRequest& request) {
  if (request.source_offset() < 0 || request.size() < 0) {
    return Status(Code::kInvalidArgument, "source_offset and size must be >= 0");
  }
  BERTH_RETURN_IF_ERROR(SeekTo(request.offset()));
  return writer_->WriteFrom(static_cast<uint64_t>(request.source_offset()),
                            static_cast<uint64_t>(request.size()));
}

Result<v1::WriteContentResponse> WriteSession::Commit(const v1::WriteContentRequest& request) {
  if (request.total() < 0) return Status(Code::kInvalidArgument, "total must be >= 0");
  BERTH_ASSIGN_OR_RETURN(Digest expected, ParseOptionalDigest(request.expected()));
  BERTH_ASSIGN_OR_RETURN(IngestStatus status, writer_->GetStatus());
  Digest digest = expected.empty() ? status.expected : expected;
  if (digest.empty()) {
    BERTH_ASSIGN_OR_RETURN(digest, writer_->CurrentDigest());
  }
  BERTH_RETURN_IF_ERROR(writer_->Commit(static_cast<uint64_t>(request.total()), expected,
                                        FromProto(request.labels())));
  spdlog::info("committed content digest={} size={} ref={}", digest, status.offset, ref_);
  committed_ = true;
  writer_.reset();  // releases the ref now: a new writer may reuse it at once
  v1::WriteContentResponse response;
  response.set_action(v1::COMMIT);
  response.set_offset(static_cast<int64_t>(status.offset));
  response.set_total(static_cast<int64_t>(status.offset));
  response.set_digest(digest.ToString());
  ToTimestamp(status.started_at, response.mutable_started_at());
  ToTimestamp(status.updated_at, response.mutable_updated_at());
  return response;
}

Result<v1::WriteContentResponse> WriteSession::Describe(v1::WriteAction action) {
  BERTH_ASSIGN_OR_RETURN(IngestStatus status, writer_->GetStatus());
  v1::WriteContentResponse response;
  response.set_action(action);
  response.set_offset(static_cast<int64_t>(status.offset));
  response.set_total(static_cast<int64_t>(status.total));
  ToTimestamp(status.started_at, response.mutable_started_at());
  ToTimestamp(status.updated_at, response.mutable_updated_at());
  if (action == v1::STAT) {
    BERTH_ASSIGN_OR_RETURN(Digest digest, writer_->CurrentDigest());
    response.set_digest(digest.ToString());
    response.set_expected(status.expected.ToString());
  }
  return response;
}

}  // namespace berth::content
