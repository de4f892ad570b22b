#include "shim/console.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace berth::shim {

Result<ConsoleSocket> ConsoleSocket::Create() {
  char dir[] = "/tmp/berth-pty-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return ErrnoStatus(errno, "mkdtemp /tmp/berth-pty-*");
  std::string path = std::string(dir) + "/pty.sock";
  ConsoleSocket console(dir, path, UniqueFd());  // removes the directory on failure below
  console.listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!console.listener_) return ErrnoStatus(errno, "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::bind(console.listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(errno, "bind " + path);
  }
  if (::listen(console.listener_.get(), 1) != 0) return ErrnoStatus(errno, "listen " + path);
  return console;
}

ConsoleSocket::ConsoleSocket(ConsoleSocket&& other) noexcept
    : dir_(std::exchange(other.dir_, "")),
      path_(std::exchange(other.path_, "")),
      listener_(std::move(other.listener_)) {}

ConsoleSocket::~ConsoleSocket() {
  listener_.reset();
  if (!path_.empty()) ::unlink(path_.c_str());
  if (!dir_.empty()) ::rmdir(dir_.c_str());
}

Result<UniqueFd> ConsoleSocket::ReceiveMaster() {
  UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) {
    return Error(Code::kFailedPrecondition, "the runtime sent no console on {}: {}", path_,
                 std::strerror(errno));
  }
  char name[4096];
  iovec iov{name, sizeof(name)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoStatus(errno, "receive console from " + path_);
  std::vector<UniqueFd> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.emplace_back(fd);
    }
  }
  if (fds.size() != 1 || (msg.msg_flags & MSG_CTRUNC)) {
    return Error(Code::kFailedPrecondition, "expected one pty master on {}, got {} fds", path_,
                 fds.size());
  }
  return std::move(fds[0]);
}

}  // namespace berth::shim
