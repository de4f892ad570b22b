#pragma once
// ServerConnection: the server side of one accepted connection (loop thread only).
// Turns frames into ServerCalls, enforces ttrpc's stream rules and writes answers.

#include <map>
#include <memory>

#include "ipc/connection.h"
#include "ipc/server_call.h"

namespace berth::ipc {

class Server;

class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(Server& server, EventLoop& loop, PeerCredentials peer);
  void Start(UniqueFd fd);
  void Close();

  EventLoop& loop() { return loop_; }
  // Bytes of answers queued but not yet taken by the socket.
  size_t queued_output_bytes() const { return connection_ ? connection_->queued_bytes() : 0; }
  // Writes a frame for `call` and, when it ends the stream, forgets the call.
  void SendFrame(uint32_t stream_id, FrameType type, uint8_t flags, std::string_view body,
                 std::vector<UniqueFd> fds = {});
  void EndStream(uint32_t stream_id);
  void SendStatus(uint32_t stream_id, const Status& status, std::string_view payload = {},
                  std::vector<UniqueFd> fds = {});

 private:
  void OnFrame(Frame&& frame);
  void OnRequest(Frame&& frame);
  void OnData(Frame&& frame);
  void OnClosed(const Status& reason);
  void ArmDeadline(const std::shared_ptr<ServerCall>& call, int64_t timeout_nano);

  Server& server_;
  EventLoop& loop_;
  PeerCredentials peer_;
  std::shared_ptr<Connection> connection_;
  std::map<uint32_t, std::shared_ptr<ServerCall>> calls_;
  std::map<uint32_t, EventLoop::TimerId> deadlines_;
  uint32_t last_stream_id_ = 0;
};

}  // namespace berth::ipc
