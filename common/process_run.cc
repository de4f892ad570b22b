// RunCapture: run a command to completion, feeding stdin and collecting stdout/stderr.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/process.h"

namespace berth {
namespace {

using Clock = std::chrono::steady_clock;

std::string CommandLine(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    out += arg;
    if (out.size() > 200) return out.substr(0, 200) + "...";
  }
  return out;
}

std::string Tail(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.size() > 4096) return "..." + std::string(text.substr(text.size() - 4096));
  return std::string(text);
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

// One end of the conversation with the child: a pipe to read or a socket to write.
struct Stream {
  UniqueFd fd;
  std::string* out = nullptr;  // reading: where bytes go
  std::string_view in;         // writing: what is left to send
};

// Reads or writes what is ready on `s`; closes it at EOF, once all is sent, or on error.
void Pump(Stream& s, short revents) {
  if (s.out != nullptr) {
    char buf[65536];
    ssize_t n = ::read(s.fd.get(), buf, sizeof(buf));
    if (n > 0) s.out->append(buf, static_cast<size_t>(n));
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) s.fd.reset();
    return;
  }
  if (revents & (POLLERR | POLLHUP)) {
    s.fd.reset();  // the child closed its stdin; what it did not read is dropped
    return;
  }
  ssize_t n = ::send(s.fd.get(), s.in.data(), s.in.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n > 0) s.in.remove_prefix(static_cast<size_t>(n));
  if ((n < 0 && errno != EINTR && errno != EAGAIN) || s.in.empty()) s.fd.reset();
}

// Waits for the child to exit, up to `deadline`; nullopt on timeout.
Result<std::optional<ExitStatus>> WaitUntil(ChildProcess& child, Clock::time_point deadline) {
  while (true) {
    BERTH_ASSIGN_OR_RETURN(auto status, child.TryWait());
    if (status || Clock::now() >= deadline) return status;
    if (child.pidfd() >= 0) {
      struct pollfd p = {child.pidfd(), POLLIN, 0};
      ::poll(&p, 1, RemainingMs(deadline));
    } else {
      ::usleep(5000);
    }
  }
}

}  // namespace

Result<std::string> RunCapture(const std::vector<std::string>& argv, std::string_view stdin_data,
                               std::chrono::milliseconds timeout) {
  SpawnOptions options;
  options.argv = argv;
  return RunCapture(std::move(options), stdin_data, timeout);
}

Result<std::string> RunCapture(SpawnOptions options, std::string_view stdin_data,
                               std::chrono::milliseconds timeout) {
  const std::string command = CommandLine(options.argv);
  auto deadline = Clock::now() + timeout;
  std::string out, err;
  Stream streams[3];
  UniqueFd child_ends[3];
  for (int i = 0; i < 2; ++i) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "run " + command + ": pipe");
    streams[i].fd.reset(fds[0]);
    streams[i].out = i == 0 ? &out : &err;
    child_ends[i].reset(fds[1]);
  }
  options.stdin_fd = SpawnOptions::kDevNull;
  if (!stdin_data.empty()) {
    // A socket rather than a pipe, so a child that stops reading cannot SIGPIPE us.
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      return ErrnoStatus(errno, "run " + command + ": socketpair");
    }
    streams[2].fd.reset(fds[0]);
    streams[2].in = stdin_data;
    child_ends[2].reset(fds[1]);
    options.stdin_fd = fds[1];
  }
  options.new_process_group = true;
  options.stdout_fd = child_ends[0].get();
  options.stderr_fd = child_ends[1].get();
  BERTH_ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::Spawn(options));
  for (auto& end : child_ends) end.reset();

  bool timed_out = false;
  while (!timed_out) {
    struct pollfd fds[3];
    Stream* open[3];
    nfds_t n = 0;
    for (auto& s : streams) {
      if (!s.fd) continue;
      fds[n] = {s.fd.get(), static_cast<short>(s.out ? POLLIN : POLLOUT), 0};
      open[n++] = &s;
    }
    if (n == 0) break;
    int r = ::poll(fds, n, RemainingMs(deadline));
    if (r < 0 && errno != EINTR) return ErrnoStatus(errno, "run " + command + ": poll");
    if (r == 0) timed_out = true;
    for (nfds_t i = 0; r > 0 && i < n; ++i) {
      if (fds[i].revents != 0) Pump(*open[i], fds[i].revents);
    }
  }
  std::optional<ExitStatus> status;
  if (!timed_out) {
    BERTH_ASSIGN_OR_RETURN(status, WaitUntil(child, deadline));
  }
  if (!status) {
    ::kill(-child.pid(), SIGKILL);  // the group: helpers it started too (not yet reaped: safe)
    (void)child.Wait();
    return Error(Code::kDeadlineExceeded, "{}: timed out after {} ms", command, timeout.count());
  }
  if (!status->success()) {
    std::string detail = Tail(err.empty() ? out : err);
    return Error(Code::kUnknown, "{}: {}{}{}", command, status->ToString(),
                 detail.empty() ? "" : ": ", detail);
  }
  return out;
}

}  // namespace berth
