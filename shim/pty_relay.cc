#include "shim/pty_relay.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

namespace berth::shim {
namespace {

constexpr size_t kMaxBuffer = 64 * 1024;
constexpr size_t kChunk = 16 * 1024;

}  // namespace

struct PtyRelay::Poll {
  uv_poll_t handle;
  PtyRelay* relay;
  int events = 0;
};

Result<std::unique_ptr<PtyRelay>> PtyRelay::Create(uv_loop_t* loop, UniqueFd master,
                                                   const StdioSpec& spec) {
  std::unique_ptr<PtyRelay> relay(new PtyRelay(loop));
  int flags = ::fcntl(master.get(), F_GETFL);
  if (flags < 0 || ::fcntl(master.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, "set pty master non-blocking");
  }
  relay->master_ = std::move(master);
  BERTH_ASSIGN_OR_RETURN(relay->out_, OpenRotatedOutput(spec.out, loop, &relay->logs_, true));
  if (relay->out_) {
    struct stat st;
    relay->out_pollable_ = ::fstat(relay->out_.get(), &st) == 0 && S_ISFIFO(st.st_mode);
  }
  if (!spec.in.empty()) {
    std::string path;
    BERTH_ASSIGN_OR_RETURN(StdioKind kind, ClassifyStdio(spec.in, &path));
    if (kind != StdioKind::kFifo) {
      return Error(Code::kInvalidArgument, "stdin {} must be a FIFO path", spec.in);
    }
    // Read-write: opening never waits for the client, and the FIFO never reports EOF to us.
    relay->in_.reset(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!relay->in_) return ErrnoStatus(errno, "open " + path);
  }
  relay->master_poll_ = relay->Watch(relay->master_.get());
  if (relay->out_pollable_) relay->out_poll_ = relay->Watch(relay->out_.get());
  if (relay->in_) relay->in_poll_ = relay->Watch(relay->in_.get());
  relay->Update();
  return relay;
}

PtyRelay::Poll* PtyRelay::Watch(int fd) {
  auto* poll = new Poll;
  poll->relay = this;
  uv_poll_init(loop_, &poll->handle, fd);
  poll->handle.data = poll;
  return poll;
}

PtyRelay::~PtyRelay() {
  for (Poll* p : {master_poll_, out_poll_, in_poll_}) {
    if (p == nullptr) continue;
    uv_close(reinterpret_cast<uv_handle_t*>(&p->handle),
             [](uv_handle_t* h) { delete static_cast<Poll*>(h->data); });
  }
}

// Sets each poll's interest from the buffers' state.
void PtyRelay::Update() {
  auto set = [](Poll* p, int events) {
    if (p == nullptr || p->events == events) return;
    p->events = events;
    if (events == 0) {
      uv_poll_stop(&p->handle);
    } else {
      uv_poll_start(&p->handle, events, &PtyRelay::OnEvent);
    }
  };
  int master_events = 0;
  if (!master_eof_ && out_buf_.size() < kMaxBuffer) master_events |= UV_READABLE;
  if (!master_eof_ && !in_buf_.empty()) master_events |= UV_WRITABLE;
  set(master_poll_, master_events);
  set(out_poll_, out_ && !out_buf_.empty() ? UV_WRITABLE : 0);
  set(in_poll_, in_ && in_buf_.size() < kMaxBuffer ? UV_READABLE : 0);
}

void PtyRelay::OnEvent(uv_poll_t* handle, int status, int events) {
  auto* poll = static_cast<Poll*>(handle->data);
  PtyRelay* self = poll->relay;
  if (poll == self->master_poll_) {
    if (events & UV_WRITABLE) self->WriteMaster();
    if ((events & UV_READABLE) || status < 0) self->ReadMaster();
  } else if (poll == self->out_poll_) {
    self->FlushOut();
  } else if (poll == self->in_poll_) {
    self->ReadStdin();
    self->WriteMaster();
  }
  self->Update();
}

void PtyRelay::ReadMaster() {
  char buf[kChunk];
  while (!master_eof_ && out_buf_.size() < kMaxBuffer) {
    ssize_t n = ::read(master_.get(), buf, sizeof(buf));
    if (n > 0) {
      if (out_) out_buf_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    master_eof_ = true;  // EIO: every slave is closed
  }
  FlushOut();
}

void PtyRelay::FlushOut() {
  while (out_ && !out_buf_.empty()) {
    ssize_t n = ::write(out_.get(), out_buf_.data(), out_buf_.size());
    if (n > 0) {
      out_buf_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    out_buf_.clear();  // the output is gone for good (disk full, closed file)
  }
  if (out_buf_.empty()) out_buf_.shrink_to_fit();
  if (master_eof_ && out_buf_.empty() && out_) {
    if (out_poll_ != nullptr) {
      uv_poll_stop(&out_poll_->handle);
      out_poll_->events = 0;
    }
    out_.reset();  // the client sees EOF
  }
}

void PtyRelay::ReadStdin() {
  char buf[kChunk];
  while (in_ && in_buf_.size() < kMaxBuffer) {
    ssize_t n = ::read(in_.get(), buf, sizeof(buf));
    if (n > 0) {
      in_buf_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
}

void PtyRelay::WriteMaster() {
  while (!in_buf_.empty() && !master_eof_) {
    ssize_t n = ::write(master_.get(), in_buf_.data(), in_buf_.size());
    if (n > 0) {
      in_buf_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    in_buf_.clear();
  }
  if (in_buf_.empty()) in_buf_.shrink_to_fit();
}

Status PtyRelay::Resize(uint32_t width, uint32_t height) {
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(width);
  ws.ws_row = static_cast<unsigned short>(height);
  if (::ioctl(master_.get(), TIOCSWINSZ, &ws) != 0) return ErrnoStatus(errno, "resize pty");
  return Status::Ok();
}

void PtyRelay::CloseStdin() {
  if (in_poll_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(&in_poll_->handle),
             [](uv_handle_t* h) { delete static_cast<Poll*>(h->data); });
    in_poll_ = nullptr;
  }
  in_.reset();
}

void PtyRelay::ProcessExited() {
  ReadMaster();
  Update();
  for (auto& log : logs_) log->Drain();
}

}  // namespace berth::shim
