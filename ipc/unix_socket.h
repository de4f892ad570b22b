#pragma once
// Unix stream sockets for Berth's IPC: filesystem paths only (never abstract names), every fd
// O_CLOEXEC and non-blocking, sockets in a directory that only the owner can enter.

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::ipc {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Creates the socket's parent directory (0700) when missing, replaces a stale socket file (one
// nobody listens on) and listens. ALREADY_EXISTS when another process serves the path;
// INVALID_ARGUMENT when the path does not fit in sun_path.
Result<UniqueFd> ListenUnix(const std::string& path, int backlog = 512);

// Connects without blocking. UNAVAILABLE naming the path when nobody listens.
Result<UniqueFd> ConnectUnix(const std::string& path);

Result<PeerCredentials> GetPeerCredentials(int fd);

// Sends `size` bytes from `data`, attaching `fds` (SCM_RIGHTS) when not empty. Returns bytes
// written, or -errno (EAGAIN when the socket is full).
ssize_t SendWithFds(int fd, const char* data, size_t size, const std::vector<int>& fds);

// Receives up to `size` bytes and any fds (received O_CLOEXEC). Returns bytes read (0 = EOF) or
// -errno.
ssize_t ReceiveWithFds(int fd, char* data, size_t size, std::vector<UniqueFd>& fds);

}  // namespace berth::ipc
