#include "common/process.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace berth {
namespace {

// Raw system calls: glibc 2.36's <sys/pidfd.h> lacks extern "C".
int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

}  // namespace

ExitStatus ExitStatus::FromWaitStatus(int wait_status) {
  if (WIFSIGNALED(wait_status)) return ExitStatus{0, WTERMSIG(wait_status)};
  return ExitStatus{WEXITSTATUS(wait_status), 0};
}

std::string ExitStatus::ToString() const {
  if (signal != 0)
    return fmt::format("killed by signal {} ({})", signal,
                       ::sigdescr_np(signal) ? ::sigdescr_np(signal) : "unknown");
  return fmt::format("exit code {}", code);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      exit_(std::exchange(other.exit_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !exit_) {
      (void)Kill(SIGKILL);
      (void)Wait();
    }
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    exit_ = std::exchange(other.exit_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ <= 0 || exit_) return;
  (void)Kill(SIGKILL);
  (void)Wait();
}

void ChildProcess::Reaped(int wait_status) {
  exit_ = ExitStatus::FromWaitStatus(wait_status);
  pidfd_.reset();
}

Result<ExitStatus> ChildProcess::Wait() {
  if (exit_) return *exit_;
  if (pid_ <= 0) return Error(Code::kFailedPrecondition, "wait: no child process");
  int status;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoStatus(errno, fmt::format("waitpid {}", pid_));
  }
  Reaped(status);
  return *exit_;
}

Result<std::optional<ExitStatus>> ChildProcess::TryWait() {
  if (exit_) return exit_;
  if (pid_ <= 0) return Error(Code::kFailedPrecondition, "wait: no child process");
  int status;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, WNOHANG)) < 0) {
    if (errno != EINTR) return ErrnoStatus(errno, fmt::format("waitpid {}", pid_));
  }
  if (r == 0) return std::optional<ExitStatus>();
  Reaped(status);
  return exit_;
}

Status ChildProcess::Kill(int sig) {
  if (pid_ <= 0) return Error(Code::kFailedPrecondition, "kill: no child process");
  if (exit_) return Error(Code::kNotFound, "kill {}: process already exited", pid_);
  int r = pidfd_ ? PidfdSendSignal(pidfd_.get(), sig) : ::kill(pid_, sig);
  if (r != 0) return ErrnoStatus(errno, fmt::format("kill {}", pid_));
  return Status::Ok();
}

pid_t ChildProcess::Release() {
  pidfd_.reset();
  pid_t pid = std::exchange(pid_, -1);
  return exit_ ? -1 : pid;
}

}  // namespace berth
