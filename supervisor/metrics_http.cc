#include "supervisor/metrics_http.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "common/metrics.h"

namespace berth::supervisor {

namespace {
constexpr size_t kMaxHead = 8192;
constexpr uint64_t kRequestTimeoutMillis = 10000;

// "host:port" -> sockaddr. Empty host = every IPv4 address.
Status ParseAddress(const std::string& address, sockaddr_storage* out) {
  size_t colon = address.rfind(':');
  int port = -1;
  if (colon != std::string::npos) {
    const char* begin = address.data() + colon + 1;
    const char* end = address.data() + address.size();
    auto [ptr, ec] = std::from_chars(begin, end, port);
    if (ec != std::errc() || ptr != end || begin == end || port < 0 || port > 65535) port = -1;
  }
  if (port < 0) {
    return Error(Code::kInvalidArgument,
                 "metrics address \"{}\" is not host:port (e.g. \"127.0.0.1:1338\")", address);
  }
  std::string host = address.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    if (uv_ip6_addr(host.substr(1, host.size() - 2).c_str(), port,
                    reinterpret_cast<sockaddr_in6*>(out)) == 0) {
      return Status::Ok();
    }
  } else if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(out)) == 0) {
    return Status::Ok();
  }
  return Error(Code::kInvalidArgument,
               "metrics address \"{}\": \"{}\" is not an IP address (use an IPv4 address, "
               "[IPv6] or localhost)",
               address, host);
}

}  // namespace

struct MetricsHttpServer::Connection {
  MetricsHttpServer* server;
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_write_t write;
  std::string head;
  std::string out;
  int open_handles = 2;
  bool closing = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  void Close() {
    if (closing) return;
    closing = true;
    *alive = false;
    server->connections_.erase(this);
    auto closed = [](uv_handle_t* h) {
      auto* self = static_cast<Connection*>(h->data);
      if (--self->open_handles == 0) delete self;
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), closed);
  }

  void Respond(int code, const char* reason, const std::string& type, const std::string& body) {
    if (closing) return;
    out = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        code, reason, type, body.size(), body);
    uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    write.data = this;
    int rc = uv_write(&write, reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1,
                      [](uv_write_t* w, int) { static_cast<Connection*>(w->data)->Close(); });
    if (rc != 0) Close();
  }

  void Handle() {
    std::string line = head.substr(0, head.find("\r\n"));
    size_t sp1 = line.find(' ');
    size_t sp2 = line.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos) {
      return Respond(400, "Bad Request", "text/plain", "malformed request line\n");
    }
    std::string method = line.substr(0, sp1);
    std::string path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    path = path.substr(0, path.find('?'));
    if (method != "GET") {
      return Respond(405, "Method Not Allowed", "text/plain", "only GET is served\n");
    }
    if (path != "/metrics" && path != "/") {
      return Respond(404, "Not Found", "text/plain", "metrics are served at /metrics\n");
    }
    std::weak_ptr<bool> weak = alive;
    server->source_([this, weak](std::string body) {
      if (auto a = weak.lock(); !a || !*a) return;
      Respond(200, "OK", metrics::kTextContentType, body);
    });
  }

  void OnRead(ssize_t n, const uv_buf_t* buf) {
    if (n > 0) head.append(buf->base, static_cast<size_t>(n));
    delete[] buf->base;
    if (n < 0 || head.size() > kMaxHead) return Close();
    if (head.find("\r\n\r\n") == std::string::npos) return;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp));
    Handle();
  }
};

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Listen(ipc::EventLoop& loop,
                                                                     const std::string& address,
                                                                     Source source) {
  sockaddr_storage addr{};
  BERTH_RETURN_IF_ERROR(ParseAddress(address, &addr));
  std::unique_ptr<MetricsHttpServer> server(new MetricsHttpServer(loop, std::move(source)));
  server->listener_ = new uv_tcp_t;
  uv_tcp_init(loop.uv(), server->listener_);
  server->listener_->data = server.get();
  int rc = uv_tcp_bind(server->listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(server->listener_), 64, OnConnection);
  if (rc != 0) {
    return Error(Code::kUnavailable, "metrics address {}: {}: pick a free port in [metrics]",
                 address, uv_strerror(rc));
  }
  sockaddr_storage bound{};
  int len = sizeof(bound);
  uv_tcp_getsockname(server->listener_, reinterpret_cast<sockaddr*>(&bound), &len);
  server->port_ =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return server;
}

MetricsHttpServer::~MetricsHttpServer() {
  *alive_ = false;
  auto connections = connections_;
  for (Connection* c : connections) c->Close();
  if (listener_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(listener_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
  }
}

void MetricsHttpServer::OnConnection(uv_stream_t* listener, int status) {
  auto* self = static_cast<MetricsHttpServer*>(listener->data);
  if (status < 0) return;
  auto* c = new Connection{};
  c->server = self;
  uv_tcp_init(self->loop_.uv(), &c->tcp);
  uv_timer_init(self->loop_.uv(), &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  self->connections_.insert(c);
  if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) return c->Close();
  uv_timer_start(
      &c->timer, [](uv_timer_t* t) { static_cast<Connection*>(t->data)->Close(); },
      kRequestTimeoutMillis, 0);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        *buf = uv_buf_init(new char[suggested], static_cast<unsigned>(suggested));
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        static_cast<Connection*>(s->data)->OnRead(n, buf);
      });
}

}  // namespace berth::supervisor
