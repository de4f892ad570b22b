#include "ipc/server_connection.h"

#include "ttrpc/request.pb.h"
#include "ipc/request_encoding.h"
#include "ipc/server.h"

namespace berth::ipc {

ServerConnection::ServerConnection(Server& server, EventLoop& loop, PeerCredentials peer)
    : server_(server), loop_(loop), peer_(peer) {}

void ServerConnection::Start(UniqueFd fd) {
  std::weak_ptr<ServerConnection> weak = shared_from_this();
  connection_ = Connection::Create(loop_, std::move(fd),
                                   {.on_frame =
                                        [weak](Frame&& frame) {
                                          if (auto self = weak.lock())
                                            self->OnFrame(std::move(frame));
                                        },
                                    .on_close =
                                        [weak](const Status& reason) {
                                          if (auto self = weak.lock()) self->OnClosed(reason);
                                        }});
  connection_->Start();
}

void ServerConnection::Close() {
  if (connection_) connection_->Close(Status(Code::kUnavailable, "server shutting down"));
}

void ServerConnection::OnClosed(const Status& reason) {
  auto keep = shared_from_this();
  for (auto& [id, timer] : deadlines_) loop_.Cancel(timer);
  deadlines_.clear();
  auto calls = std::move(calls_);
  calls_.clear();
  for (auto& [id, call] : calls) call->Cancel(reason);
  server_.Forget(this);
}

void ServerConnection::SendFrame(uint32_t stream_id, FrameType type, uint8_t flags,
                                 std::string_view body, std::vector<UniqueFd> fds) {
  if (connection_) connection_->Send(stream_id, type, flags, body, std::move(fds));
}

void ServerConnection::EndStream(uint32_t stream_id) {
  calls_.erase(stream_id);
  auto it = deadlines_.find(stream_id);
  if (it != deadlines_.end()) {
    loop_.Cancel(it->second);
    deadlines_.erase(it);
  }
}

void ServerConnection::SendStatus(uint32_t stream_id, const Status& status,
                                  std::string_view payload, std::vector<UniqueFd> fds) {
  std::string body;
  if (!status.ok()) {
    ::ttrpc::Response response;
    response.mutable_status()->set_code(static_cast<int32_t>(status.code()));
    response.mutable_status()->set_message(status.message());
    response.SerializeToString(&body);
  } else if (!payload.empty()) {
    ::ttrpc::Response response;
    response.set_payload(std::string(payload));
    response.SerializeToString(&body);
  }
  SendFrame(stream_id, FrameType::kResponse, 0, body, std::move(fds));
}

void ServerConnection::OnFrame(Frame&& frame) {
  switch (static_cast<FrameType>(frame.header.type)) {
    case FrameType::kRequest:
      OnRequest(std::move(frame));
      return;
    case FrameType::kData:
      OnData(std::move(frame));
      return;
    case FrameType::kResponse:
      return;  // a client never sends these; ignored as ttrpc does
  }
  connection_->Close(
      Status(Code::kInvalidArgument,
             fmt::format("protocol error: unknown frame type {}", frame.header.type)));
}

void ServerConnection::OnRequest(Frame&& frame) {
  uint32_t id = frame.header.stream_id;
  if (id % 2 == 0) {
    SendStatus(id,
               Status(Code::kInvalidArgument, "StreamID must be odd for client initiated streams"));
    return;
  }
  if (id <= last_stream_id_) {
    SendStatus(id, Status(Code::kInvalidArgument, "StreamID cannot be re-used and must increment"));
    return;
  }
  last_stream_id_ = id;
  if (frame.oversize) {
    SendStatus(
        id, Error(Code::kResourceExhausted, "message length {} exceed maximum message size of {}",
                  frame.header.length, kMaxBody));
    return;
  }
  ParsedRequest request;
  if (!ParseRequest(frame.body, request)) {
    SendStatus(id, Status(Code::kInvalidArgument, "malformed ttrpc request envelope"));
    return;
  }
  std::string service(request.service), method(request.method);
  Status not_found;
  std::shared_ptr<MethodStats> stats;
  const Handler* handler = server_.FindHandler(service, method, &not_found, &stats);
  if (handler == nullptr) {
    SendStatus(id, not_found);
    return;
  }
  bool remote_open = (frame.header.flags & kFlagRemoteOpen) != 0;
  auto call = std::make_shared<ServerCall>(
      weak_from_this(), id, std::move(service), std::move(method), std::move(request.metadata),
      std::string(request.payload), std::move(frame.fds), peer_, remote_open);
  stats->Received(request.payload.size());
  call->SetStats(std::move(stats));
  calls_[id] = call;
  if (request.timeout_nano > 0) ArmDeadline(call, request.timeout_nano);
  (*handler)(call);
}

void ServerConnection::ArmDeadline(const std::shared_ptr<ServerCall>& call, int64_t timeout_nano) {
  // Capped, so that adding it to the clock cannot overflow (a peer may send INT64_MAX).
  constexpr std::chrono::nanoseconds kMaxTimeout = std::chrono::hours(24 * 365 * 100);
  auto timeout = std::min(std::chrono::nanoseconds(timeout_nano), kMaxTimeout);
  call->SetDeadline(std::chrono::steady_clock::now() + timeout);
  uint64_t millis =
      static_cast<uint64_t>(std::chrono::ceil<std::chrono::milliseconds>(timeout).count());
  uint32_t id = call->stream_id();
  // Small enough for std::function's inline storage: no allocation per call. The call is
  // looked up again: EndStream forgets it (and cancels this timer) once it is answered.
  deadlines_[id] = loop_.After(millis, [this, id] {
    deadlines_.erase(id);
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    std::shared_ptr<ServerCall> c = it->second;
    if (!c->finished()) {
      c->Cancel(Status(Code::kDeadlineExceeded, "deadline exceeded"));
      c->Finish(Status(Code::kDeadlineExceeded, "deadline exceeded"));
    }
  });
}

void ServerConnection::OnData(Frame&& frame) {
  uint32_t id = frame.header.stream_id;
  auto it = calls_.find(id);
  if (it == calls_.end() || it->second->remote_closed()) {
    SendStatus(id, Status(Code::kInvalidArgument, "StreamID is no longer active"));
    return;
  }
  if (frame.oversize) {
    auto call = it->second;
    call->Finish(Error(Code::kResourceExhausted,
                       "message length {} exceed maximum message size of {}", frame.header.length,
                       kMaxBody));
    return;
  }
  bool remote_closed = (frame.header.flags & kFlagRemoteClosed) != 0;
  bool has_payload = (frame.header.flags & kFlagNoData) == 0;
  it->second->CountReceived(frame.body.size());
  it->second->DeliverData(std::move(frame.body), has_payload, remote_closed);
}

}  // namespace berth::ipc
