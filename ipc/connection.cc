#include "ipc/connection.h"

#include <cerrno>
#include <cstring>

#include "ipc/unix_socket.h"

namespace berth::ipc {

namespace {
constexpr size_t kReadBufferSize = 256 * 1024;
constexpr int kMaxReadsPerWakeup = 16;  // fairness between connections on one loop
// A written chunk's buffer up to this size is kept for the next one, so that a connection in
// a steady request/answer rhythm writes without allocating.
constexpr size_t kMaxSpareCapacity = 64 * 1024;
// A frame's first byte is reserved and must be zero (body limit < 16 MiB): a stream that breaks
// this is not ttrpc, and the connection is closed rather than read for gigabytes.
constexpr uint32_t kProtocolLengthLimit = 1u << 24;
}  // namespace

std::shared_ptr<Connection> Connection::Create(EventLoop& loop, UniqueFd fd, Callbacks callbacks) {
  return std::shared_ptr<Connection>(new Connection(loop, std::move(fd), std::move(callbacks)));
}

Connection::Connection(EventLoop& loop, UniqueFd fd, Callbacks callbacks)
    : loop_(loop), fd_(std::move(fd)), callbacks_(std::move(callbacks)) {}

Connection::~Connection() = default;

void Connection::Start() {
  poll_ = new uv_poll_t;
  uv_poll_init(loop_.uv(), poll_, fd_.get());
  poll_->data = this;
  self_ = shared_from_this();
  UpdatePollEvents();
}

void Connection::UpdatePollEvents() {
  if (closed_ || poll_ == nullptr) return;
  int events = UV_READABLE | UV_DISCONNECT | (want_write_ ? UV_WRITABLE : 0);
  uv_poll_start(poll_, events, &Connection::OnPoll);
}

void Connection::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Connection*>(handle->data);
  auto keep = self->shared_from_this();
  if (status < 0) {
    self->Close(Status(Code::kUnavailable, std::string("poll: ") + uv_strerror(status)));
    return;
  }
  if (events & UV_WRITABLE) self->Flush();
  if (!self->closed_ && (events & (UV_READABLE | UV_DISCONNECT))) self->HandleReadable();
}

void Connection::HandleReadable() {
  static thread_local std::unique_ptr<char[]> buffer(new char[kReadBufferSize]);
  corked_ = true;
  for (int i = 0; i < kMaxReadsPerWakeup && !closed_; ++i) {
    std::vector<UniqueFd> fds;
    ssize_t n = ReceiveWithFds(fd_.get(), buffer.get(), kReadBufferSize, fds);
    if (n == -EAGAIN || n == -EINTR) break;
    if (n == 0) {
      corked_ = false;
      Flush();
      Close(Status(Code::kUnavailable, "connection closed by peer"));
      return;
    }
    if (n < 0) {
      Close(
          Status(Code::kUnavailable, std::string("read: ") + std::strerror(static_cast<int>(-n))));
      return;
    }
    decoder_.Feed(buffer.get(), static_cast<size_t>(n), std::move(fds));
    while (!closed_) {
      auto frame = decoder_.Next();
      if (!frame) break;
      if (frame->header.length >= kProtocolLengthLimit) {
        Close(Status(Code::kInvalidArgument, "protocol error: frame length over 16 MiB"));
        return;
      }
      callbacks_.on_frame(std::move(*frame));
    }
    if (static_cast<size_t>(n) < kReadBufferSize) break;  // drained
  }
  corked_ = false;
  Flush();
}

void Connection::Send(uint32_t stream_id, FrameType type, uint8_t flags, std::string_view body,
                      std::vector<UniqueFd> fds) {
  if (closed_) return;
  if (!fds.empty() || output_.empty() || !output_.back().fds.empty() ||
      output_.back().data.size() > kReadBufferSize) {
    output_.push_back(Chunk{});
    output_.back().data = std::move(spare_);  // keeps the capacity of the last chunk written
    output_.back().data.clear();
    output_.back().fds = std::move(fds);
  }
  AppendFrame(output_.back().data, stream_id, type, flags, body);
  if (!corked_ && !want_write_) Flush();
}

void Connection::Flush() {
  while (!closed_ && !output_.empty()) {
    Chunk& chunk = output_.front();
    std::vector<int> raw_fds;
    if (chunk.offset == 0) {
      for (auto& fd : chunk.fds) raw_fds.push_back(fd.get());
    }
    ssize_t n = SendWithFds(fd_.get(), chunk.data.data() + chunk.offset,
                            chunk.data.size() - chunk.offset, raw_fds);
    if (n == -EAGAIN || n == -EINTR) break;
    if (n < 0) {
      Close(
          Status(Code::kUnavailable, std::string("write: ") + std::strerror(static_cast<int>(-n))));
      return;
    }
    if (chunk.offset == 0) chunk.fds.clear();  // the kernel holds its own references now
    chunk.offset += static_cast<size_t>(n);
    if (chunk.offset == chunk.data.size()) {
      if (chunk.data.capacity() <= kMaxSpareCapacity) spare_ = std::move(chunk.data);
      output_.pop_front();
    }
  }
  bool want = !closed_ && !output_.empty();
  if (want != want_write_) {
    want_write_ = want;
    UpdatePollEvents();
  }
}

size_t Connection::queued_bytes() const {
  size_t total = 0;
  for (const Chunk& chunk : output_) total += chunk.data.size() - chunk.offset;
  return total;
}

void Connection::Close(const Status& reason) {
  if (closed_) return;
  closed_ = true;
  output_.clear();
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) {
      auto* self = static_cast<Connection*>(h->data);
      delete reinterpret_cast<uv_poll_t*>(h);
      self->fd_.reset();
      self->self_.reset();  // may destroy *self
    });
  } else {
    fd_.reset();
  }
  auto on_close = std::move(callbacks_.on_close);
  callbacks_ = {};
  if (on_close) on_close(reason);
}

}  // namespace berth::ipc
