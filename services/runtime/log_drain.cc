#include "services/runtime/log_drain.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

namespace berth::runtime {

struct LogDrain::Handle {
  uv_poll_t poll;
  UniqueFd fd;
  std::string id;
  std::string partial;
};

LogDrain::LogDrain(uv_loop_t* loop, UniqueFd fd, std::string id) {
  if (!fd.valid()) return;
  handle_ = new Handle{{}, std::move(fd), std::move(id), {}};
  handle_->poll.data = handle_;
  if (uv_poll_init(loop, &handle_->poll, handle_->fd.get()) != 0) {
    delete handle_;
    handle_ = nullptr;
    return;
  }
  uv_poll_start(&handle_->poll, UV_READABLE, &LogDrain::OnReadable);
}

LogDrain::~LogDrain() {
  if (handle_ == nullptr) return;
  uv_poll_stop(&handle_->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

void LogDrain::OnReadable(uv_poll_t* poll, int status, int events) {
  auto* h = static_cast<Handle*>(poll->data);
  char buffer[16384];
  ssize_t n = ::read(h->fd.get(), buffer, sizeof(buffer));
  if (n <= 0) {
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) uv_poll_stop(poll);
    return;
  }
  h->partial.append(buffer, static_cast<size_t>(n));
  size_t start = 0;
  for (size_t nl; (nl = h->partial.find('\n', start)) != std::string::npos; start = nl + 1) {
    spdlog::debug("shim id={} {}", h->id, std::string_view(h->partial).substr(start, nl - start));
  }
  h->partial.erase(0, start);
  if (h->partial.size() > 65536) h->partial.clear();
}

}  // namespace berth::runtime
