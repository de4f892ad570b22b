#pragma once
// MetricsHttpServer: berthd's Prometheus endpoint ([metrics] address = "127.0.0.1:1338").
// `GET /metrics` (or `/`) answers 200 with the text exposition format; other paths 404, other
// methods 405. One request per connection (Connection: close). A request head over 8 KiB, or
// not complete within 10 s, closes the connection: a scraper sends a few hundred bytes at once.
//
// Thread-safety: loop-thread object; destroy it on the loop thread (closes every connection).

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "common/status.h"
#include "ipc/event_loop.h"

namespace berth::supervisor {

class MetricsHttpServer {
 public:
  // Produces the body of one scrape; calls `reply` once, on the loop thread.
  using Source = std::function<void(std::function<void(std::string body)> reply)>;

  // Listens on "host:port" (IPv4, "[v6]", or "localhost"; port 0 picks a free one). Errors:
  // INVALID_ARGUMENT for an address that is not host:port, the bind error otherwise (e.g.
  // "metrics address 127.0.0.1:1338: address already in use").
  static Result<std::unique_ptr<MetricsHttpServer>> Listen(ipc::EventLoop& loop,
                                                           const std::string& address,
                                                           Source source);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The port actually bound.
  int port() const { return port_; }

  struct Connection;  // one accepted socket (metrics_http.cc)

 private:
  MetricsHttpServer(ipc::EventLoop& loop, Source source)
      : loop_(loop), source_(std::move(source)) {}
  static void OnConnection(uv_stream_t* listener, int status);

  ipc::EventLoop& loop_;
  Source source_;
  uv_tcp_t* listener_ = nullptr;  // freed in its close callback
  int port_ = 0;
  std::set<Connection*> connections_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::supervisor
