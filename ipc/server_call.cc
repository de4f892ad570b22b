#include "ipc/server_call.h"

#include "ipc/server_connection.h"

namespace berth::ipc {

ServerCall::ServerCall(std::weak_ptr<ServerConnection> connection, uint32_t stream_id,
                       std::string service, std::string method, Metadata metadata,
                       std::string request, std::vector<UniqueFd> fds, PeerCredentials peer,
                       bool remote_open)
    : connection_(std::move(connection)),
      stream_id_(stream_id),
      service_(std::move(service)),
      method_(std::move(method)),
      metadata_(std::move(metadata)),
      request_(std::move(request)),
      fds_(std::move(fds)),
      peer_(peer),
      remote_closed_(!remote_open) {}

std::string ServerCall::GetMetadata(std::string_view key) const {
  for (auto& [k, v] : metadata_) {
    if (k == key) return v;
  }
  return {};
}

std::string ServerCall::Namespace(std::string_view fallback) const {
  std::string ns = GetMetadata(kNamespaceKey);
  return ns.empty() ? std::string(fallback) : ns;
}

void ServerCall::RunOnLoop(std::function<void(ServerConnection&)> fn) {
  auto conn = connection_.lock();
  if (!conn) return;
  EventLoop& loop = conn->loop();
  if (loop.InLoopThread()) {
    fn(*conn);
    return;
  }
  std::weak_ptr<ServerConnection> weak = connection_;
  loop.Post([weak, fn = std::move(fn), keep = shared_from_this()] {
    if (auto c = weak.lock()) fn(*c);
  });
}

void ServerCall::Finish(const Status& status, std::string payload, std::vector<UniqueFd> fds) {
  // A handler answering on the loop thread (the common case) needs no posted closure.
  if (auto conn = connection_.lock(); conn && conn->loop().InLoopThread()) {
    auto keep = shared_from_this();  // the connection drops its reference in FinishOnLoop
    FinishOnLoop(*conn, status, payload, std::move(fds), false);
    return;
  }
  auto shared_fds = std::make_shared<std::vector<UniqueFd>>(std::move(fds));
  RunOnLoop([self = shared_from_this(), status, payload = std::move(payload),
             shared_fds](ServerConnection& conn) {
    self->FinishOnLoop(conn, status, payload, std::move(*shared_fds), false);
  });
}

void ServerCall::CloseStream(const Status& status) {
  RunOnLoop([self = shared_from_this(), status](ServerConnection& conn) {
    self->FinishOnLoop(conn, status, {}, {}, status.ok());
  });
}

void ServerCall::FinishOnLoop(ServerConnection& conn, const Status& status,
                              const std::string& payload, std::vector<UniqueFd> fds,
                              bool as_stream_close) {
  if (finished_) return;
  finished_ = true;
  if (stats_) stats_->Sent(payload.size());
  RecordEnd(as_stream_close ? Code::kOk : status.code());
  if (as_stream_close) {
    conn.SendFrame(stream_id_, FrameType::kData, kFlagRemoteClosed | kFlagNoData, {});
  } else {
    conn.SendStatus(stream_id_, status, payload, std::move(fds));
  }
  conn.EndStream(stream_id_);
  on_message_ = nullptr;
  on_remote_close_ = nullptr;
  on_cancel_ = nullptr;
}

void ServerCall::RecordEnd(Code code) {
  if (end_recorded_ || !stats_) return;
  end_recorded_ = true;
  stats_->Finished(code, std::chrono::steady_clock::now() - received_at_);
}

size_t ServerCall::QueuedOutputBytes() const {
  auto conn = connection_.lock();
  return conn ? conn->queued_output_bytes() : 0;
}

void ServerCall::Send(std::string payload, std::vector<UniqueFd> fds) {
  auto shared_fds = std::make_shared<std::vector<UniqueFd>>(std::move(fds));
  RunOnLoop([self = shared_from_this(), payload = std::move(payload),
             shared_fds](ServerConnection& conn) {
    if (self->finished_) return;
    if (self->stats_) self->stats_->Sent(payload.size());
    conn.SendFrame(self->stream_id_, FrameType::kData, 0, payload, std::move(*shared_fds));
  });
}

void ServerCall::OnMessage(std::function<void(std::string)> callback) {
  RunOnLoop([self = shared_from_this(), callback = std::move(callback)](ServerConnection&) {
    self->on_message_ = callback;
    while (self->on_message_ && !self->pending_messages_.empty()) {
      std::string message = std::move(self->pending_messages_.front());
      self->pending_messages_.pop_front();
      self->on_message_(std::move(message));
    }
    if (self->pending_messages_.empty() && self->pending_remote_close_ && self->on_remote_close_) {
      self->pending_remote_close_ = false;
      self->on_remote_close_();
    }
  });
}

void ServerCall::OnRemoteClose(std::function<void()> callback) {
  RunOnLoop([self = shared_from_this(), callback = std::move(callback)](ServerConnection&) {
    self->on_remote_close_ = callback;
    if (self->pending_remote_close_ && self->pending_messages_.empty()) {
      self->pending_remote_close_ = false;
      self->on_remote_close_();
    }
  });
}

void ServerCall::OnCancel(std::function<void()> callback) {
  RunOnLoop([self = shared_from_this(), callback = std::move(callback)](ServerConnection&) {
    self->on_cancel_ = callback;
  });
}

void ServerCall::DeliverData(std::string payload, bool has_payload, bool remote_closed) {
  auto keep = shared_from_this();
  if (has_payload) {
    if (on_message_ && pending_messages_.empty()) {
      on_message_(std::move(payload));
    } else {
      pending_messages_.push_back(std::move(payload));
    }
  }
  if (remote_closed) {
    remote_closed_ = true;
    if (on_remote_close_ && pending_messages_.empty()) {
      on_remote_close_();
    } else {
      pending_remote_close_ = true;
    }
  }
}

void ServerCall::Cancel(const Status& reason) {
  auto keep = shared_from_this();
  if (!finished_) RecordEnd(reason.code());
  auto on_cancel = std::move(on_cancel_);
  on_message_ = nullptr;
  on_remote_close_ = nullptr;
  on_cancel_ = nullptr;
  if (on_cancel) on_cancel();
}

}  // namespace berth::ipc
