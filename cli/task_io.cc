#include "cli/task_io.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <random>

#include "common/fs.h"

namespace berth::cli {
namespace {

bool WriteFully(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Copies a FIFO opened O_RDONLY|O_NONBLOCK to `out` until the writer hung up.
void CopyOutput(int fifo, int out, std::atomic<bool>& stop) {
  char buffer[32768];
  while (!stop) {
    pollfd p{fifo, POLLIN, 0};
    int ready = ::poll(&p, 1, 200);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    if (p.revents & POLLIN) {
      ssize_t n = ::read(fifo, buffer, sizeof(buffer));
      if (n > 0) {
        if (!WriteFully(out, buffer, static_cast<size_t>(n))) return;
        continue;
      }
      if (n == 0) return;
      if (errno == EAGAIN || errno == EINTR) continue;
      return;
    }
    if (p.revents & (POLLHUP | POLLERR)) return;  // a writer came and went: the end
  }
}

std::string RandomName() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

}  // namespace

Result<std::unique_ptr<StdioFifos>> StdioFifos::Create(const std::string& state, bool with_stdin,
                                                       bool with_stderr) {
  std::unique_ptr<StdioFifos> f(new StdioFifos());
  BERTH_RETURN_IF_ERROR(MakeDirs(state + "/fifo", 0700));
  f->dir_ = state + "/fifo/" + RandomName();
  if (::mkdir(f->dir_.c_str(), 0700) != 0) return ErrnoStatus(errno, "mkdir " + f->dir_);
  auto make = [&](const char* name, std::string& path, UniqueFd& fd, int flags) -> Status {
    path = f->dir_ + "/" + name;
    if (::mkfifo(path.c_str(), 0600) != 0) return ErrnoStatus(errno, "mkfifo " + path);
    fd.reset(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd.valid()) return ErrnoStatus(errno, "open " + path);
    return Status::Ok();
  };
  if (with_stdin) BERTH_RETURN_IF_ERROR(make("stdin", f->stdin_path_, f->stdin_fd_, O_RDWR));
  BERTH_RETURN_IF_ERROR(make("stdout", f->stdout_path_, f->stdout_fd_, O_RDONLY | O_NONBLOCK));
  if (with_stderr) {
    BERTH_RETURN_IF_ERROR(make("stderr", f->stderr_path_, f->stderr_fd_, O_RDONLY | O_NONBLOCK));
  }
  return f;
}

StdioFifos::~StdioFifos() {
  stop_ = true;
  for (auto& t : output_threads_) t.join();
  stdin_fd_.reset();
  if (!dir_.empty()) (void)RemoveAll(dir_);
}

void StdioFifos::Start(std::function<void()> on_stdin_eof) {
  if (stdin_fd_.valid()) {
    // Detached: a read of our stdin cannot be interrupted; the process exits around it.
    std::thread([fd = stdin_fd_.release(), on_stdin_eof] {
      char buffer[8192];
      while (true) {
        ssize_t n = ::read(STDIN_FILENO, buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || !WriteFully(fd, buffer, static_cast<size_t>(n))) break;
      }
      ::close(fd);
      if (on_stdin_eof) on_stdin_eof();
    }).detach();
  }
  for (auto [fd, out] :
       {std::pair{stdout_fd_.get(), STDOUT_FILENO}, std::pair{stderr_fd_.get(), STDERR_FILENO}}) {
    if (fd < 0) continue;
    ++outputs_open_;
    output_threads_.emplace_back([this, fd, out] {
      CopyOutput(fd, out, stop_);
      --outputs_open_;
    });
  }
}

void StdioFifos::WaitOutput(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (outputs_open_ > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

RawTerminal::RawTerminal(int fd) : fd_(fd) {
  termios t{};
  if (!::isatty(fd) || ::tcgetattr(fd, &t) != 0) return;
  saved_ = t;
  ::cfmakeraw(&t);
  t.c_oflag |= OPOST;  // keep "\n" -> "\r\n" for our own messages
  ::tcsetattr(fd, TCSANOW, &t);
}

RawTerminal::~RawTerminal() {
  if (saved_) ::tcsetattr(fd_, TCSANOW, &*saved_);
}

std::optional<std::pair<uint32_t, uint32_t>> TerminalSize(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0) return std::nullopt;
  return std::pair<uint32_t, uint32_t>{ws.ws_col, ws.ws_row};
}

namespace {
sigset_t ForwardedSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH, SIGUSR1}) sigaddset(&set, s);
  return set;
}
}  // namespace

SignalForwarder::SignalForwarder(std::function<void(int)> on_signal) {
  sigset_t set = ForwardedSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this, set, on_signal = std::move(on_signal)] {
    while (true) {
      int signo = 0;
      if (sigwait(&set, &signo) != 0) continue;
      if (stop_) return;
      if (signo != SIGUSR1) on_signal(signo);
    }
  });
}

SignalForwarder::~SignalForwarder() {
  stop_ = true;
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

}  // namespace berth::cli
