#include "ipc/unix_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace berth::ipc {

namespace {

Result<sockaddr_un> MakeAddress(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path[0] == '\0') {
    return Error(Code::kInvalidArgument, "socket path is empty (abstract sockets are not used)");
  }
  if (path.size() >= sizeof(addr.sun_path)) {
    return Error(Code::kInvalidArgument,
                 "socket path {} is {} bytes; unix sockets allow at most {}: use a shorter "
                 "state directory",
                 path, path.size(), sizeof(addr.sun_path) - 1);
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

Status EnsurePrivateDirectory(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return Status::Ok();
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error(Code::kInternal, "create socket directory {}: {}", dir, ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return ErrnoStatus(errno, "chmod " + dir);
  return Status::Ok();
}

}  // namespace

Result<UniqueFd> ListenUnix(const std::string& path, int backlog) {
  BERTH_ASSIGN_OR_RETURN(sockaddr_un addr, MakeAddress(path));
  BERTH_RETURN_IF_ERROR(EnsurePrivateDirectory(std::filesystem::path(path).parent_path().string()));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Error(Code::kAlreadyExists, "{} exists and is not a socket; remove it", path);
    }
    auto probe = ConnectUnix(path);
    if (probe.ok()) {
      return Error(Code::kAlreadyExists, "another process already serves {}", path);
    }
    ::unlink(path.c_str());  // stale socket of a process that died
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return ErrnoStatus(errno, "socket");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(errno, "bind " + path);
  }
  ::chmod(path.c_str(), 0600);
  if (::listen(fd.get(), backlog) != 0) return ErrnoStatus(errno, "listen " + path);
  return fd;
}

Result<UniqueFd> ConnectUnix(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(sockaddr_un addr, MakeAddress(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return ErrnoStatus(errno, "socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    return Status(Code::kUnavailable, fmt::format("cannot reach {}: {}", path, std::strerror(err)));
  }
  return fd;
}

Result<PeerCredentials> GetPeerCredentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return ErrnoStatus(errno, "SO_PEERCRED");
  }
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

ssize_t SendWithFds(int fd, const char* data, size_t size, const std::vector<int>& fds) {
  iovec iov{const_cast<char*>(data), size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  return n < 0 ? -errno : n;
}

ssize_t ReceiveWithFds(int fd, char* data, size_t size, std::vector<UniqueFd>& fds) {
  constexpr size_t kMaxFds = 32;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFds)];
  iovec iov{data, size};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0) return -errno;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.emplace_back(received);
    }
  }
  return n;
}

}  // namespace berth::ipc
