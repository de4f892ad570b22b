#pragma once
// Server: serves ttrpc on a unix socket, on one EventLoop.
//
// Register handlers, then Listen(). Each Request frame becomes a ServerCall handed to its handler
// on the loop thread; requests on one connection run concurrently (a handler that holds its
// answer does not block the next request) and answers leave in completion order.
//
// Protocol checks (ttrpc 1.2): stream ids must be odd and increasing; bodies over 4 MiB get
// RESOURCE_EXHAUSTED on their stream while the connection stays up; an unparsable Request gets
// INVALID_ARGUMENT; an unknown service or method gets UNIMPLEMENTED; a frame that breaks the
// framing itself (reserved length byte set, unknown frame type) closes the connection.
//
// Peers are checked with SO_PEERCRED when they connect: by default only root and the server's
// own uid are served; others are disconnected without a reply, as containerd does.
//
// Every registered method is counted (ipc/method_stats.h); CollectMetrics() reports the counts.

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "common/metrics.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "ipc/event_loop.h"
#include "ipc/method_stats.h"
#include "ipc/server_call.h"

namespace berth::ipc {

class Server {
 public:
  explicit Server(EventLoop& loop);
  ~Server();  // closes the listener and every connection (loop thread)
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers `handler` for service/method. Call before Listen().
  void Register(std::string service, std::string method, Handler handler);
  // Who may connect. The default admits root and the server's euid.
  void SetPeerPolicy(std::function<bool(const PeerCredentials&)> admit);

  Status Listen(const std::string& path);
  // Serves an already listening socket (systemd socket activation, shim fd 3).
  Status ServeFd(UniqueFd listener);
  // Stops accepting and closes connections. Loop thread.
  void Close();

  const std::string& path() const { return path_; }
  size_t connection_count() const { return connections_.size(); }
  // Appends the request metrics of every method called so far (berth_ipc_*).
  void CollectMetrics(metrics::Families& out) const;

  // Used by ServerConnection.
  // The handler of service/method and its counters, or nullptr with `not_found` set.
  const Handler* FindHandler(const std::string& service, const std::string& method,
                             Status* not_found,
                             std::shared_ptr<MethodStats>* stats = nullptr) const;
  bool Admit(const PeerCredentials& peer) const { return admit_(peer); }
  void Forget(ServerConnection* connection) { connections_.erase(connection); }

 private:
  static void OnAcceptable(uv_poll_t* handle, int status, int events);
  void AcceptAll();

  EventLoop& loop_;
  std::string path_;
  UniqueFd listener_;
  uv_poll_t* poll_ = nullptr;
  struct Method {
    Handler handler;
    std::shared_ptr<MethodStats> stats;
  };
  std::map<std::string, std::map<std::string, Method>, std::less<>> services_;
  std::function<bool(const PeerCredentials&)> admit_;
  std::map<ServerConnection*, std::shared_ptr<ServerConnection>> connections_;
};

}  // namespace berth::ipc
