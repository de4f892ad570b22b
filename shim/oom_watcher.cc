#include "shim/oom_watcher.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "common/fs.h"

namespace berth::shim {

Result<std::unique_ptr<OomWatcher>> OomWatcher::Create(uv_loop_t* loop, pid_t pid,
                                                       std::function<void()> on_oom) {
  CgroupMode mode = DetectCgroupMode();
  BERTH_ASSIGN_OR_RETURN(std::string dir, MemoryCgroupDir(pid, mode));
  return CreateForDir(loop, mode, std::move(dir), std::move(on_oom));
}

Result<std::unique_ptr<OomWatcher>> OomWatcher::CreateForDir(uv_loop_t* loop, CgroupMode mode,
                                                             std::string dir,
                                                             std::function<void()> on_oom) {
  std::unique_ptr<OomWatcher> w(new OomWatcher(mode, std::move(dir), std::move(on_oom)));
  if (mode == CgroupMode::kV1) {
    std::string control = w->dir_ + "/memory.oom_control";
    w->control_fd_.reset(::open(control.c_str(), O_RDONLY | O_CLOEXEC));
    if (!w->control_fd_) return ErrnoStatus(errno, "open " + control);
    w->event_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!w->event_fd_) return ErrnoStatus(errno, "eventfd");
    std::string registration =
        std::to_string(w->event_fd_.get()) + " " + std::to_string(w->control_fd_.get());
    std::string event_control = w->dir_ + "/cgroup.event_control";
    UniqueFd ec(::open(event_control.c_str(), O_WRONLY | O_CLOEXEC));
    if (!ec) return ErrnoStatus(errno, "open " + event_control);
    BERTH_RETURN_IF_ERROR(WriteAll(ec.get(), registration, event_control));
  } else {
    w->event_fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!w->event_fd_) return ErrnoStatus(errno, "inotify_init1");
    std::string events = w->dir_ + "/memory.events";
    if (::inotify_add_watch(w->event_fd_.get(), events.c_str(), IN_MODIFY) < 0) {
      return ErrnoStatus(errno, "inotify_add_watch " + events);
    }
    w->last_kills_ = w->OomKills();
  }
  w->poll_ = new uv_poll_t;
  uv_poll_init(loop, w->poll_, w->event_fd_.get());
  w->poll_->data = w.get();
  uv_poll_start(w->poll_, UV_READABLE, &OomWatcher::OnReadable);
  return w;
}

OomWatcher::~OomWatcher() { Stop(); }

void OomWatcher::Stop() {
  if (poll_ == nullptr) return;
  uv_poll_stop(poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(poll_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  poll_ = nullptr;
}

uint64_t OomWatcher::OomKills() const {
  auto text = ReadFile(dir_ + "/memory.events");
  if (!text.ok()) return 0;
  size_t pos = text->find("oom_kill ");
  if (pos == std::string::npos) return 0;
  uint64_t value = 0;
  const char* begin = text->data() + pos + 9;
  std::from_chars(begin, text->data() + text->size(), value);
  return value;
}

void OomWatcher::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<OomWatcher*>(handle->data);
  char buf[4096];
  while (::read(self->event_fd_.get(), buf, sizeof(buf)) > 0) {
  }
  bool gone = ::access(self->dir_.c_str(), F_OK) != 0;
  if (gone) {
    self->Stop();  // the cgroup was removed (v1 signals that through the eventfd too)
    return;
  }
  if (self->mode_ == CgroupMode::kV2) {
    uint64_t kills = self->OomKills();
    if (kills <= self->last_kills_) return;
    self->last_kills_ = kills;
  }
  self->on_oom_();
}

}  // namespace berth::shim
