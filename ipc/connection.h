#pragma once
// Connection: one non-blocking unix socket on an EventLoop, reading and writing ttrpc frames.
//
// Shared by the server and the async client. Loop thread only. Frames are written in the order
// Send() is called; while the connection is corked (during the processing of one read) frames
// are only buffered, so that the replies to a burst of requests leave in one write.
//
// Lifetime: held by shared_ptr; the poll handle keeps a self-reference until its close callback,
// so Close() may be called from inside a callback.

#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "ipc/event_loop.h"
#include "ipc/frame.h"

namespace berth::ipc {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  struct Callbacks {
    std::function<void(Frame&&)> on_frame;
    // Called once, when the connection closes for any reason (peer EOF, error, Close()).
    std::function<void(const Status&)> on_close;
  };

  static std::shared_ptr<Connection> Create(EventLoop& loop, UniqueFd fd, Callbacks callbacks);
  ~Connection();

  void Start();
  // Queues one frame. `fds` are sent with the frame's first byte and closed once sent.
  void Send(uint32_t stream_id, FrameType type, uint8_t flags, std::string_view body,
            std::vector<UniqueFd> fds = {});
  // Closes the socket now; pending output is dropped.
  void Close(const Status& reason);
  bool closed() const { return closed_; }
  // Bytes queued for writing that the socket has not taken yet (flow control for streams).
  size_t queued_bytes() const;
  int fd() const { return fd_.get(); }
  EventLoop& loop() { return loop_; }

 private:
  Connection(EventLoop& loop, UniqueFd fd, Callbacks callbacks);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  void HandleReadable();
  void Flush();
  void UpdatePollEvents();

  struct Chunk {
    std::string data;
    size_t offset = 0;
    std::vector<UniqueFd> fds;  // sent with data[0]
  };

  EventLoop& loop_;
  UniqueFd fd_;
  Callbacks callbacks_;
  uv_poll_t* poll_ = nullptr;
  std::shared_ptr<Connection> self_;  // held while the poll handle is open
  FrameDecoder decoder_;
  std::deque<Chunk> output_;
  std::string spare_;  // an empty buffer with capacity, reused by the next chunk
  bool corked_ = false;
  bool want_write_ = false;
  bool closed_ = false;
};

}  // namespace berth::ipc
