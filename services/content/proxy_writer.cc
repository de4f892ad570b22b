#include "services/content/proxy_writer.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>

#include "ipc/typed.h"
#include "services/content/convert.h"

namespace berth::content {

namespace {

// Field 6 (data, length-delimited) of WriteContentRequest, appended by hand so a chunk is copied
// once into the frame payload instead of into the message and again when serializing it.
void AppendDataField(std::string& payload, std::string_view data) {
  payload.push_back(static_cast<char>((6 << 3) | 2));
  uint64_t size = data.size();
  while (size >= 0x80) {
    payload.push_back(static_cast<char>((size & 0x7f) | 0x80));
    size >>= 7;
  }
  payload.push_back(static_cast<char>(size));
  payload.append(data);
}

}  // namespace

Result<std::unique_ptr<Writer>> ProxyWriter::Open(std::unique_ptr<ipc::Client::Stream> stream,
                                                  const WriterOptions& options, Sizes sizes) {
  std::unique_ptr<ProxyWriter> writer(new ProxyWriter(std::move(stream), sizes));
  writer->has_source_ = options.source_fd >= 0;
  writer->status_.ref = options.ref;
  writer->status_.total = options.total;
  writer->status_.expected = options.expected;
  v1::WriteContentRequest request;
  request.set_action(v1::STAT);
  request.set_ref(options.ref);
  request.set_total(static_cast<int64_t>(options.total));
  request.set_expected(options.expected.ToString());
  BERTH_RETURN_IF_ERROR(writer->Exchange(request).status());
  return std::unique_ptr<Writer>(std::move(writer));
}

ProxyWriter::~ProxyWriter() {
  (void)stream_->CloseSend();
  (void)stream_->Finish();
}

Status ProxyWriter::Usable() const {
  if (!broken_.ok()) return broken_;
  if (committed_) {
    return Error(Code::kFailedPrecondition, "ref \"{}\" was already committed", status_.ref);
  }
  return Status::Ok();
}

Status ProxyWriter::Send(const v1::WriteContentRequest& request, std::string_view data) {
  std::string payload = ipc::SerializeMessage(request);
  if (!data.empty()) {
    payload.reserve(payload.size() + data.size() + 11);
    AppendDataField(payload, data);
  }
  Status sent = stream_->Send(std::move(payload));
  if (!sent.ok()) {
    broken_ = sent;
    return sent;
  }
  in_flight_.push_back(data.size());
  in_flight_bytes_ += data.size();
  return Status::Ok();
}

Status ProxyWriter::AwaitOne() {
  auto reply = stream_->Recv();
  if (!reply.ok()) {
    broken_ = reply.status();
    return broken_;
  }
  if (!reply->has_value()) {
    broken_ = Error(Code::kUnavailable, "write stream of ref \"{}\" ended early", status_.ref);
    return broken_;
  }
  auto response = ipc::ParseMessage<v1::WriteContentResponse>((*reply)->payload);
  if (!response.ok()) {
    broken_ = response.status();
    return broken_;
  }
  in_flight_bytes_ -= in_flight_.front();
  in_flight_.pop_front();
  last_ = std::move(response).value();
  return Status::Ok();
}

Result<v1::WriteContentResponse> ProxyWriter::Exchange(const v1::WriteContentRequest& request) {
  BERTH_RETURN_IF_ERROR(Send(request));
  while (!in_flight_.empty()) BERTH_RETURN_IF_ERROR(AwaitOne());
  Absorb(last_);
  return last_;
}

void ProxyWriter::Absorb(const v1::WriteContentResponse& response) {
  status_.offset = static_cast<uint64_t>(response.offset());
  status_.total = static_cast<uint64_t>(response.total());
  status_.started_at = FromTimestamp(response.started_at());
  status_.updated_at = FromTimestamp(response.updated_at());
  if (response.action() == v1::STAT) {
    auto expected = ParseOptionalDigest(response.expected());
    if (expected.ok()) status_.expected = *expected;
  }
}

Status ProxyWriter::Write(std::string_view data) {
  BERTH_RETURN_IF_ERROR(Usable());
  while (!data.empty()) {
    std::string_view chunk = data.substr(0, sizes_.chunk);
    v1::WriteContentRequest request;
    request.set_action(v1::WRITE);
    request.set_offset(static_cast<int64_t>(status_.offset));
    BERTH_RETURN_IF_ERROR(Send(request, chunk));
    status_.offset += chunk.size();
    data.remove_prefix(chunk.size());
    while (in_flight_bytes_ > sizes_.window) BERTH_RETURN_IF_ERROR(AwaitOne());
  }
  return Status::Ok();
}

Status ProxyWriter::WriteFrom(uint64_t source_offset, uint64_t size) {
  BERTH_RETURN_IF_ERROR(Usable());
  if (!has_source_) {
    return Error(Code::kFailedPrecondition, "ref \"{}\" was opened without a source file",
                 status_.ref);
  }
  // All chunks go out at once (they carry no data); the service copies them in order.
  uint64_t done = 0;
  do {
    uint64_t chunk = std::min<uint64_t>(sizes_.copy_chunk, size - done);
    v1::WriteContentRequest request;
    request.set_action(v1::COPY);
    request.set_offset(static_cast<int64_t>(status_.offset + done));
    request.set_source_offset(static_cast<int64_t>(source_offset + done));
    request.set_size(static_cast<int64_t>(chunk));
    BERTH_RETURN_IF_ERROR(Send(request));
    done += chunk;
  } while (done < size);
  while (!in_flight_.empty()) BERTH_RETURN_IF_ERROR(AwaitOne());
  Absorb(last_);
  return Status::Ok();
}

Status ProxyWriter::Commit(uint64_t size, const Digest& expected, const Labels& labels) {
  BERTH_RETURN_IF_ERROR(Usable());
  if (!expected.empty()) BERTH_RETURN_IF_ERROR(ValidateDigest(expected));
  v1::WriteContentRequest request;
  request.set_action(v1::COMMIT);
  request.set_total(static_cast<int64_t>(size));
  request.set_expected(expected.ToString());
  ToProto(labels, request.mutable_labels());
  BERTH_RETURN_IF_ERROR(Exchange(request).status());
  committed_ = true;
  return Status::Ok();
}

Result<IngestStatus> ProxyWriter::GetStatus() {
  BERTH_RETURN_IF_ERROR(Usable());
  v1::WriteContentRequest request;
  request.set_action(v1::STAT);
  BERTH_RETURN_IF_ERROR(Exchange(request).status());
  return status_;
}

Result<Digest> ProxyWriter::CurrentDigest() {
  BERTH_RETURN_IF_ERROR(Usable());
  v1::WriteContentRequest request;
  request.set_action(v1::STAT);
  BERTH_ASSIGN_OR_RETURN(auto response, Exchange(request));
  return ParseDigest(response.digest());
}

Status ProxyWriter::Truncate(uint64_t size) {
  BERTH_RETURN_IF_ERROR(Usable());
  // Answers still in flight may hold an error that makes the truncation moot.
  while (!in_flight_.empty()) BERTH_RETURN_IF_ERROR(AwaitOne());
  if (size > status_.offset) {
    return Error(Code::kOutOfRange, "cannot truncate ref \"{}\" to {}: only {} bytes written",
                 status_.ref, size, status_.offset);
  }
  v1::WriteContentRequest request;
  request.set_action(v1::WRITE);
  request.set_offset(static_cast<int64_t>(size));
  return Exchange(request).status();
}

}  // namespace berth::content
