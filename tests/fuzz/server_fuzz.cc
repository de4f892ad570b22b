// libFuzzer target: arbitrary bytes from a client into a real ipc::Server.
//
// One Server (with the Echo test service) listens on a socket in a temp dir and is driven by
// this thread's EventLoop. Each input is written on a fresh connection, the write side is then
// shut down, and the loop runs until the server has closed the connection; everything the
// server answers is read and thrown away. A crash or a sanitizer report is a finding; so is a
// server that does not close the connection within 5 s of EOF (it aborts, so libFuzzer
// reports it), or one that keeps the connection in its table afterwards.
#include <poll.h>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "common/temp_dir.h"
#include "ipc/event_loop.h"
#include "ipc/server.h"
#include "ipc/testing/echo_server.h"
#include "ipc/unix_socket.h"

namespace {

namespace v1 = ::berth::testing::v1;
using namespace std::chrono_literals;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "server_fuzz: %s\n", what);
  std::abort();
}

// The Echo service with its unbounded inputs capped, so that a fuzzed request cannot ask for
// four billion stream messages or an hour-long sleep (a property of the test service, not of
// the server under test).
class BoundedEcho : public berth::ipc::testing::EchoServer {
 public:
  using EchoServer::EchoServer;
  void Count(const v1::CountRequest& request,
             berth::ipc::ServerWriter<v1::CountResponse> writer) override {
    v1::CountRequest bounded = request;
    bounded.set_count(std::min<uint32_t>(request.count(), 64));
    EchoServer::Count(bounded, writer);
  }
  void Sleep(const v1::SleepRequest& request, berth::ipc::Reply<v1::EchoResponse> reply) override {
    v1::SleepRequest bounded = request;
    bounded.set_delay_ms(std::min<uint32_t>(request.delay_ms(), 5));
    EchoServer::Sleep(bounded, reply);
  }
};

struct Harness {
  Harness() : dir(berth::TempDir::Create("b-fuzz").value()), echo(loop) {
    std::signal(SIGPIPE, SIG_IGN);
    server = std::make_unique<berth::ipc::Server>(loop);
    echo.RegisterWith(*server);
    if (!server->Listen(dir.Join("s.sock")).ok()) Die("cannot listen");
  }
  ~Harness() {
    server.reset();
    uv_run(loop.uv(), UV_RUN_NOWAIT);
  }
  void Turn() { uv_run(loop.uv(), UV_RUN_NOWAIT); }

  berth::TempDir dir;  // destroyed last: removes the socket directory
  berth::ipc::EventLoop loop;
  BoundedEcho echo;
  std::unique_ptr<berth::ipc::Server> server;
};

// Reads and discards what the server sent; true once the server closed the connection.
bool DrainAnswers(int fd) {
  char buf[65536];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n == 0) return true;
    return errno != EAGAIN && errno != EINTR;  // ECONNRESET: closed as well
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness harness;
  auto fd = berth::ipc::ConnectUnix(harness.server->path());
  if (!fd.ok()) Die("cannot connect");
  bool closed = false;
  size_t offset = 0;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (offset < size && !closed) {
    ssize_t n = ::send(fd->get(), data + offset, size - offset, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) offset += static_cast<size_t>(n);
    if (n < 0 && errno != EAGAIN && errno != EINTR) break;  // the server hung up on us
    harness.Turn();
    closed = DrainAnswers(fd->get());
    if (std::chrono::steady_clock::now() > deadline) Die("server stopped reading");
  }
  ::shutdown(fd->get(), SHUT_WR);
  while (!closed) {
    harness.Turn();
    closed = DrainAnswers(fd->get());
    if (closed) break;
    if (std::chrono::steady_clock::now() > deadline) Die("server kept the connection after EOF");
    pollfd p{fd->get(), POLLIN, 0};
    ::poll(&p, 1, 1);
  }
  harness.Turn();
  if (harness.server->connection_count() != 0) Die("closed connection still in the table");
  return 0;
}
