#include "shim/log_copier.h"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>

namespace berth::shim {
namespace {

constexpr size_t kLogChunk = 64 * 1024;
// Per readiness event, so a container that writes without pause cannot starve the shim's
// other work (the rest is read on the next loop turn).
constexpr int kChunksPerEvent = 16;

}  // namespace

struct LogCopier::Poll {
  uv_poll_t handle;
  LogCopier* copier;
};

Result<std::unique_ptr<LogCopier>> LogCopier::Create(uv_loop_t* loop, UniqueFd pipe_read_end,
                                                     std::unique_ptr<RotatingLog> log) {
  int flags = ::fcntl(pipe_read_end.get(), F_GETFL);
  if (flags < 0 || ::fcntl(pipe_read_end.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, "set log pipe non-blocking");
  }
  std::unique_ptr<LogCopier> copier(new LogCopier);
  copier->pipe_ = std::move(pipe_read_end);
  copier->log_ = std::move(log);
  auto* poll = new Poll;
  poll->copier = copier.get();
  poll->handle.data = poll;
  if (int rc = uv_poll_init(loop, &poll->handle, copier->pipe_.get()); rc != 0) {
    delete poll;
    return Error(Code::kInternal, "watch log pipe: {}", uv_strerror(rc));
  }
  copier->poll_ = poll;
  uv_poll_start(&poll->handle, UV_READABLE, &LogCopier::OnReadable);
  return copier;
}

LogCopier::~LogCopier() {
  Drain();
  if (poll_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_->handle),
             [](uv_handle_t* h) { delete static_cast<Poll*>(h->data); });
  }
}

void LogCopier::OnReadable(uv_poll_t* handle, int /*status*/, int /*events*/) {
  static_cast<Poll*>(handle->data)->copier->Copy(kChunksPerEvent);
}

void LogCopier::Drain() { Copy(-1); }

void LogCopier::Copy(int max_chunks) {
  char buf[kLogChunk];
  for (int chunks = 0; !eof_ && chunks != max_chunks; ++chunks) {
    ssize_t n = ::read(pipe_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) {
      --chunks;
      continue;
    }
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {  // EOF (every writer closed) or a broken pipe: nothing more will come
      eof_ = true;
      if (poll_ != nullptr) uv_poll_stop(&poll_->handle);
      return;
    }
    Status s = log_->Write(std::string_view(buf, static_cast<size_t>(n)));
    if (!s.ok() && !failing_) spdlog::warn("container log: {}", s.ToString());
    failing_ = !s.ok();  // warn once per failing stretch, not per chunk
  }
}

}  // namespace berth::shim
