#pragma once
// Test helpers: a temp directory, an Echo server on its own loop thread, and a raw frame
// socket for sending malformed input.

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "ipc/frame.h"
#include "ipc/server.h"
#include "ipc/testing/echo_server.h"
#include "ipc/unix_socket.h"

namespace berth::ipc::testing {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/berth-test-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An Echo server listening on `socket_path`, served by a private loop thread.
class EchoServerThread {
 public:
  explicit EchoServerThread(std::string socket_path) : path_(std::move(socket_path)) {
    loop_ = std::make_unique<EventLoop>();
    loop_->StartThread();
    std::promise<Status> listening;
    loop_->Post([this, &listening] {
      server_ = std::make_unique<Server>(*loop_);
      echo_ = std::make_unique<EchoServer>(*loop_);
      echo_->RegisterWith(*server_);
      listening.set_value(server_->Listen(path_));
    });
    status_ = listening.get_future().get();
  }
  ~EchoServerThread() {
    std::promise<void> closed;
    loop_->Post([this, &closed] {
      server_.reset();
      closed.set_value();
    });
    closed.get_future().wait();
    loop_.reset();
  }
  const Status& status() const { return status_; }
  EchoServer& echo() { return *echo_; }
  Server& server() { return *server_; }
  EventLoop& loop() { return *loop_; }

 private:
  std::string path_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<EchoServer> echo_;
  Status status_;
};

// A blocking socket that speaks raw frames.
class RawPeer {
 public:
  explicit RawPeer(const std::string& path) {
    auto fd = ConnectUnix(path);
    if (fd.ok()) fd_ = std::move(fd).value();
  }
  bool connected() const { return fd_.valid(); }
  bool Write(std::string_view bytes) {
    while (!bytes.empty()) {
      pollfd p{fd_.get(), POLLOUT, 0};
      ::poll(&p, 1, 2000);
      ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // The next frame, or nullopt on EOF or timeout.
  std::optional<Frame> Read(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      if (auto frame = decoder_.Next()) return frame;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
      char buf[65536];
      ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (n < 0 && errno == EAGAIN) continue;
      if (n <= 0) {
        eof_ = true;
        return std::nullopt;
      }
      decoder_.Feed(buf, static_cast<size_t>(n));
    }
  }
  bool eof() const { return eof_; }

 private:
  UniqueFd fd_;
  FrameDecoder decoder_;
  bool eof_ = false;
};

}  // namespace berth::ipc::testing
