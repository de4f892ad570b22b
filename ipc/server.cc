#include "ipc/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "ipc/server_connection.h"
#include "ipc/unix_socket.h"

namespace berth::ipc {

Server::Server(EventLoop& loop) : loop_(loop) {
  uid_t self = ::geteuid();
  admit_ = [self](const PeerCredentials& peer) { return peer.uid == 0 || peer.uid == self; };
}

Server::~Server() { Close(); }

void Server::Register(std::string service, std::string method, Handler handler) {
  auto stats = std::make_shared<MethodStats>(service, method);
  services_[std::move(service)][std::move(method)] = {std::move(handler), std::move(stats)};
}

void Server::SetPeerPolicy(std::function<bool(const PeerCredentials&)> admit) {
  admit_ = std::move(admit);
}

const Handler* Server::FindHandler(const std::string& service, const std::string& method,
                                   Status* not_found, std::shared_ptr<MethodStats>* stats) const {
  auto svc = services_.find(service);
  if (svc == services_.end()) {
    *not_found = Status(Code::kUnimplemented, "service " + service);
    return nullptr;
  }
  auto m = svc->second.find(method);
  if (m == svc->second.end()) {
    *not_found = Status(Code::kUnimplemented, "method " + method);
    return nullptr;
  }
  if (stats != nullptr) *stats = m->second.stats;
  return &m->second.handler;
}

void Server::CollectMetrics(metrics::Families& out) const {
  for (const auto& [service, methods] : services_) {
    for (const auto& [method, entry] : methods) entry.stats->AppendTo(out);
  }
}

Status Server::Listen(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, ListenUnix(path));
  path_ = path;
  return ServeFd(std::move(fd));
}

Status Server::ServeFd(UniqueFd listener) {
  int flags = ::fcntl(listener.get(), F_GETFL);
  ::fcntl(listener.get(), F_SETFL, flags | O_NONBLOCK);
  ::fcntl(listener.get(), F_SETFD, FD_CLOEXEC);
  listener_ = std::move(listener);
  poll_ = new uv_poll_t;
  uv_poll_init(loop_.uv(), poll_, listener_.get());
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, &Server::OnAcceptable);
  return Status::Ok();
}

void Server::OnAcceptable(uv_poll_t* handle, int status, int events) {
  static_cast<Server*>(handle->data)->AcceptAll();
}

void Server::AcceptAll() {
  while (true) {
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd) return;  // EAGAIN, or a transient error: the poll tells us when to try again
    auto peer = GetPeerCredentials(fd.get());
    if (!peer.ok() || !admit_(*peer)) continue;  // dropped without a word, as containerd does
    auto conn = std::make_shared<ServerConnection>(*this, loop_, *peer);
    connections_[conn.get()] = conn;
    conn->Start(std::move(fd));
  }
}

void Server::Close() {
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  listener_.reset();
  if (!path_.empty()) {
    ::unlink(path_.c_str());
    path_.clear();
  }
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [ptr, conn] : connections) conn->Close();
}

}  // namespace berth::ipc
