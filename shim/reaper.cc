#include "shim/reaper.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <cerrno>

namespace berth::shim {

uint32_t ExitCodeFromWaitStatus(int wait_status) {
  if (WIFSIGNALED(wait_status)) return 128u + static_cast<uint32_t>(WTERMSIG(wait_status));
  return static_cast<uint32_t>(WEXITSTATUS(wait_status));
}

Result<std::unique_ptr<Reaper>> Reaper::Create(uv_loop_t* loop, size_t max_unclaimed) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    return Error(Code::kInternal, "block SIGCHLD failed");
  }
  UniqueFd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "signalfd(SIGCHLD)");
  auto reaper = std::unique_ptr<Reaper>(new Reaper(loop, std::move(fd), max_unclaimed));
  reaper->ReapAll();  // children that exited before SIGCHLD was blocked
  return reaper;
}

Reaper::Reaper(uv_loop_t* loop, UniqueFd signal_fd, size_t max_unclaimed)
    : signal_fd_(std::move(signal_fd)), poll_(new uv_poll_t), max_unclaimed_(max_unclaimed) {
  uv_poll_init(loop, poll_, signal_fd_.get());
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, &Reaper::OnReadable);
}

Reaper::~Reaper() {
  uv_poll_stop(poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(poll_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
}

void Reaper::OnReadable(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Reaper*>(handle->data);
  signalfd_siginfo info[8];
  while (::read(self->signal_fd_.get(), info, sizeof(info)) > 0) {
  }
  self->ReapAll();
}

std::optional<int> Reaper::Watch(pid_t pid, ExitCallback callback,
                                 Clock::time_point started_after) {
  for (auto it = unclaimed_.begin(); it != unclaimed_.end(); ++it) {
    if (it->pid == pid && it->reaped_at >= started_after) {
      int status = it->wait_status;
      unclaimed_.erase(it);
      return status;
    }
  }
  watchers_[pid] = std::move(callback);
  return std::nullopt;
}

void Reaper::Unwatch(pid_t pid) { watchers_.erase(pid); }

void Reaper::ReapAll() {
  while (true) {
    int status = 0;
    pid_t pid = ::wait4(-1, &status, WNOHANG, nullptr);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;  // 0: children still running; ECHILD: none left
    auto it = watchers_.find(pid);
    if (it == watchers_.end()) {
      if (unclaimed_.size() >= max_unclaimed_) unclaimed_.pop_front();
      unclaimed_.push_back({pid, status, Clock::now()});
      continue;
    }
    ExitCallback callback = std::move(it->second);
    watchers_.erase(it);
    callback(status);
  }
}

}  // namespace berth::shim
