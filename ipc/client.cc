#include "ipc/client.h"

#include "ttrpc/request.pb.h"
#include "ipc/client_internal.h"
#include "ipc/request_encoding.h"
#include "ipc/unix_socket.h"

namespace berth::ipc {

namespace {
constexpr std::chrono::milliseconds kMaxBackoff{500};
}

std::shared_ptr<AsyncClient> AsyncClient::Create(EventLoop& loop, std::string socket_path,
                                                 ClientOptions options) {
  return std::shared_ptr<AsyncClient>(new AsyncClient(loop, std::move(socket_path), options));
}

AsyncClient::AsyncClient(EventLoop& loop, std::string path, ClientOptions options)
    : loop_(loop), path_(std::move(path)), options_(options) {}

AsyncClient::~AsyncClient() {
  if (connection_) connection_->Close(Status(Code::kCancelled, "client destroyed"));
}

void AsyncClient::Call(std::string service, std::string method, std::string payload,
                       CallOptions options, std::function<void(Result<Response>)> done) {
  auto pending = std::make_shared<Pending>();
  pending->service = std::move(service);
  pending->method = std::move(method);
  pending->payload = std::move(payload);
  pending->options = std::move(options);
  pending->done = std::move(done);
  Start(std::move(pending));
}

std::shared_ptr<ClientStream> AsyncClient::OpenStream(std::string service, std::string method,
                                                      std::string payload, StreamKind kind,
                                                      CallOptions options,
                                                      StreamCallbacks callbacks) {
  auto pending = std::make_shared<Pending>();
  pending->service = std::move(service);
  pending->method = std::move(method);
  pending->payload = std::move(payload);
  pending->stream_kind = kind;
  pending->options = std::move(options);
  pending->stream = std::move(callbacks);
  auto stream = std::make_shared<ClientStream>();
  stream->client_ = weak_from_this();
  stream->pending_ = pending;
  Start(std::move(pending));
  return stream;
}

void AsyncClient::Start(std::shared_ptr<Pending> pending) {
  // On the loop thread (services calling services, the benchmark) the call starts at once,
  // without a posted closure.
  if (loop_.InLoopThread()) {
    StartOnLoop(pending);
    return;
  }
  loop_.Post(
      [self = shared_from_this(), pending = std::move(pending)] { self->StartOnLoop(pending); });
}

void AsyncClient::StartOnLoop(const std::shared_ptr<Pending>& pending) {
  if (closed_) {
    Complete(pending, Status(Code::kCancelled, "client closed"));
    return;
  }
  if (pending->options.timeout.count() > 0) {
    pending->deadline = std::chrono::steady_clock::now() + pending->options.timeout;
    std::weak_ptr<Pending> weak = pending;
    pending->deadline_timer = loop_.After(
        static_cast<uint64_t>(pending->options.timeout.count()), [self = shared_from_this(), weak] {
          if (auto p = weak.lock()) {
            p->deadline_timer = 0;
            self->Complete(p, Error(Code::kDeadlineExceeded, "{}/{} on {}: deadline exceeded",
                                    p->service, p->method, self->path_));
          }
        });
  }
  if (connection_) {
    Transmit(pending);
  } else {
    queued_.push_back(pending);
    TryConnect();
  }
}

void AsyncClient::TryConnect() {
  if (connection_ || reconnect_timer_ != 0 || queued_.empty()) return;
  auto fd = ConnectUnix(path_);
  if (!fd.ok()) {
    auto now = std::chrono::steady_clock::now();
    if (options_.connect_timeout.count() == 0) {
      FailQueued(fd.status());
      return;
    }
    if (!connect_deadline_) connect_deadline_ = now + options_.connect_timeout;
    if (now >= *connect_deadline_) {
      connect_deadline_.reset();
      backoff_ = std::chrono::milliseconds(10);
      FailQueued(fd.status());
      return;
    }
    std::weak_ptr<AsyncClient> weak = weak_from_this();
    reconnect_timer_ = loop_.After(static_cast<uint64_t>(backoff_.count()), [weak] {
      if (auto self = weak.lock()) {
        self->reconnect_timer_ = 0;
        self->TryConnect();
      }
    });
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    return;
  }
  connect_deadline_.reset();
  backoff_ = std::chrono::milliseconds(10);
  uint64_t generation = ++generation_;
  next_stream_id_ = 1;
  std::weak_ptr<AsyncClient> weak = weak_from_this();
  connection_ = Connection::Create(loop_, std::move(fd).value(),
                                   {.on_frame =
                                        [weak](Frame&& frame) {
                                          if (auto self = weak.lock())
                                            self->OnFrame(std::move(frame));
                                        },
                                    .on_close =
                                        [weak, generation](const Status& reason) {
                                          if (auto self = weak.lock())
                                            self->OnClosed(generation, reason);
                                        }});
  connection_->Start();
  auto queued = std::move(queued_);
  queued_.clear();
  for (auto& pending : queued) {
    if (!pending->completed) Transmit(pending);
  }
}

void AsyncClient::FailQueued(const Status& status) {
  auto queued = std::move(queued_);
  queued_.clear();
  for (auto& pending : queued) Complete(pending, status);
}

void AsyncClient::Transmit(const std::shared_ptr<Pending>& pending) {
  int64_t timeout_nano = 0;
  if (pending->deadline) {
    auto left = *pending->deadline - std::chrono::steady_clock::now();
    timeout_nano = std::max<int64_t>(1, left.count());
  }
  // Encoded straight into a reused buffer: no ttrpc::Request object, no allocation per call.
  std::string& body = request_buffer_;
  body.clear();
  AppendRequest(body, {.service = pending->service,
                       .method = pending->method,
                       .payload = pending->payload,
                       .timeout_nano = timeout_nano,
                       .ns = pending->options.ns,
                       .metadata = &pending->options.metadata});
  if (body.size() > kMaxBody) {
    Complete(pending, Error(Code::kResourceExhausted,
                            "request of {} bytes exceeds the ttrpc limit of {} bytes", body.size(),
                            kMaxBody));
    return;
  }
  uint8_t flags = 0;
  if (pending->stream_kind) {
    flags =
        *pending->stream_kind == StreamKind::kServerStream ? kFlagRemoteClosed : kFlagRemoteOpen;
  }
  pending->stream_id = next_stream_id_;
  next_stream_id_ += 2;
  pending->generation = generation_;
  in_flight_[pending->stream_id] = pending;
  connection_->Send(pending->stream_id, FrameType::kRequest, flags, body,
                    std::move(pending->options.fds));
  pending->payload = std::string();  // sent: free it now, the call may stay in flight for long
  // Data frames the caller queued before the Request went out (index loop: Send may complete
  // calls, but nothing appends to this outbox once the stream id is set).
  for (size_t i = 0; i < pending->outbox.size() && connection_; ++i) {
    connection_->Send(pending->stream_id, FrameType::kData, pending->outbox[i].second,
                      pending->outbox[i].first);
  }
  pending->outbox.clear();
}

void AsyncClient::OnFrame(Frame&& frame) {
  auto it = in_flight_.find(frame.header.stream_id);
  if (it == in_flight_.end()) return;  // a late answer to a call that timed out
  auto pending = it->second;
  if (frame.oversize) {
    Complete(pending, Error(Code::kResourceExhausted, "answer of {} bytes exceeds the ttrpc limit",
                            frame.header.length));
    return;
  }
  if (frame.header.type == static_cast<uint8_t>(FrameType::kResponse)) {
    ::ttrpc::Response response;
    if (!response.ParseFromString(frame.body)) {
      Complete(pending, Status(Code::kInternal, "malformed ttrpc response from " + path_));
      return;
    }
    if (response.has_status() && response.status().code() != 0) {
      Complete(pending,
               Status(static_cast<Code>(response.status().code()), response.status().message()));
      return;
    }
    Complete(pending, Response{std::move(*response.mutable_payload()), std::move(frame.fds)});
    return;
  }
  if (frame.header.type == static_cast<uint8_t>(FrameType::kData) && pending->stream_kind) {
    if ((frame.header.flags & kFlagNoData) == 0 && pending->stream.on_message &&
        !pending->abandoned) {
      pending->stream.on_message(Response{std::move(frame.body), std::move(frame.fds)});
    }
    if (frame.header.flags & kFlagRemoteClosed) Complete(pending, Response{});
  }
}

void AsyncClient::Complete(const std::shared_ptr<Pending>& pending, Result<Response> result) {
  if (pending->completed) return;
  pending->completed = true;
  if (pending->deadline_timer != 0) loop_.Cancel(pending->deadline_timer);
  pending->deadline_timer = 0;
  if (pending->stream_id != 0) in_flight_.erase(pending->stream_id);
  std::erase(queued_, pending);
  if (pending->abandoned) return;
  if (pending->stream_kind) {
    if (pending->stream.on_finish) pending->stream.on_finish(std::move(result));
    pending->stream = {};
  } else if (pending->done) {
    auto done = std::move(pending->done);
    done(std::move(result));
  }
}

void AsyncClient::OnClosed(uint64_t generation, const Status& reason) {
  if (generation != generation_) return;
  connection_.reset();
  auto in_flight = std::move(in_flight_);
  in_flight_.clear();
  Status lost(closed_ ? Code::kCancelled : Code::kUnavailable,
              fmt::format("connection to {} lost: {}", path_, reason.message()));
  for (auto& [id, pending] : in_flight) Complete(pending, lost);
  TryConnect();  // calls queued meanwhile
}

void AsyncClient::SendData(const std::shared_ptr<Pending>& pending, std::string payload,
                           uint8_t flags) {
  if (pending->completed) return;
  if (pending->stream_id == 0) {
    pending->outbox.emplace_back(std::move(payload), flags);
    return;
  }
  if (connection_ && pending->generation == generation_) {
    connection_->Send(pending->stream_id, FrameType::kData, flags, payload);
  }
}

void AsyncClient::Close() {
  loop_.Dispatch([self = shared_from_this()] {
    self->closed_ = true;
    if (self->reconnect_timer_ != 0) self->loop_.Cancel(self->reconnect_timer_);
    self->reconnect_timer_ = 0;
    self->FailQueued(Status(Code::kCancelled, "client closed"));
    if (self->connection_) self->connection_->Close(Status(Code::kCancelled, "client closed"));
  });
}

void ClientStream::Send(std::string payload) {
  auto client = client_.lock();
  if (!client) return;
  client->loop_.Dispatch([client, pending = pending_, payload = std::move(payload)]() mutable {
    client->SendData(pending, std::move(payload), 0);
  });
}

void ClientStream::CloseSend() {
  auto client = client_.lock();
  if (!client) return;
  client->loop_.Dispatch([client, pending = pending_] {
    client->SendData(pending, {}, kFlagRemoteClosed | kFlagNoData);
  });
}

void ClientStream::Abandon() {
  auto client = client_.lock();
  if (!client) return;
  client->loop_.Dispatch([client, pending = pending_] {
    pending->abandoned = true;
    client->Complete(pending, Status(Code::kCancelled, "abandoned"));
  });
}

}  // namespace berth::ipc
