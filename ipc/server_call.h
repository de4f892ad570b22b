#pragma once
// ServerCall: one incoming ttrpc stream (a unary call or a streaming call) as a handler sees it.
//
// The server creates it when a Request frame arrives and hands it to the registered handler.
// Handlers may answer at once or later: Finish/Send/CloseStream are thread-safe (they post to the
// loop when called off it). The first terminal call (Finish or CloseStream) wins; anything sent
// after it, or after the peer went away, is dropped. Handlers keep the shared_ptr as long as they
// need the call; the connection drops its own reference when the stream ends.

#include <sys/types.h>

#include <chrono>
#include <list>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "ipc/method_stats.h"
#include "ipc/unix_socket.h"

namespace berth::ipc {

using Metadata = std::vector<std::pair<std::string, std::string>>;
// containerd's namespace key in ttrpc metadata.
inline constexpr const char kNamespaceKey[] = "containerd-namespace-ttrpc";

class ServerConnection;

class ServerCall : public std::enable_shared_from_this<ServerCall> {
 public:
  ServerCall(std::weak_ptr<ServerConnection> connection, uint32_t stream_id, std::string service,
             std::string method, Metadata metadata, std::string request, std::vector<UniqueFd> fds,
             PeerCredentials peer, bool remote_open);

  const std::string& service() const { return service_; }
  const std::string& method() const { return method_; }
  const Metadata& metadata() const { return metadata_; }
  // First value of a metadata key, or empty.
  std::string GetMetadata(std::string_view key) const;
  // The namespace the caller named, or `fallback` when it named none.
  std::string Namespace(std::string_view fallback = "default") const;
  const PeerCredentials& peer() const { return peer_; }
  // Payload of the Request frame.
  const std::string& request() const { return request_; }
  // File descriptors that came with the Request frame.
  std::vector<UniqueFd> TakeFds() { return std::move(fds_); }
  std::optional<std::chrono::steady_clock::time_point> deadline() const { return deadline_; }

  // Ends the stream with a Response frame: `status` and, when OK, `payload`.
  void Finish(const Status& status, std::string payload = {}, std::vector<UniqueFd> fds = {});
  // Sends one Data frame (server and bidi streams).
  void Send(std::string payload, std::vector<UniqueFd> fds = {});
  // Ends a server stream: OK closes with an empty Data frame flagged remote-closed|no-data,
  // an error is sent as a Response.
  void CloseStream(const Status& status);

  // Client-stream input, delivered on the loop thread. Messages that arrive before a callback is
  // set are kept and delivered when it is set.
  void OnMessage(std::function<void(std::string)> callback);
  void OnRemoteClose(std::function<void()> callback);
  // Called (loop thread) when the call can no longer be answered: peer gone or deadline passed.
  void OnCancel(std::function<void()> callback);
  bool finished() const { return finished_; }
  // Bytes queued on this call's connection that the peer has not read yet (all streams of the
  // connection together; 0 once it is gone). Loop thread. Lets a server stream stop sending to a
  // peer that does not keep up instead of buffering without bound.
  size_t QueuedOutputBytes() const;

  // --- used by ServerConnection (loop thread) ---
  uint32_t stream_id() const { return stream_id_; }
  void SetDeadline(std::chrono::steady_clock::time_point deadline) { deadline_ = deadline; }
  void DeliverData(std::string payload, bool has_payload, bool remote_closed);
  void Cancel(const Status& reason);
  bool remote_closed() const { return remote_closed_; }
  // The counters of this call's method: the call reports its end, latency and bytes to them.
  void SetStats(std::shared_ptr<MethodStats> stats) { stats_ = std::move(stats); }
  void CountReceived(size_t bytes) {
    if (stats_) stats_->Received(bytes);
  }

 private:
  void RunOnLoop(std::function<void(ServerConnection&)> fn);
  void FinishOnLoop(ServerConnection& conn, const Status& status, const std::string& payload,
                    std::vector<UniqueFd> fds, bool as_stream_close);
  void RecordEnd(Code code);

  std::weak_ptr<ServerConnection> connection_;
  uint32_t stream_id_;
  std::string service_;
  std::string method_;
  Metadata metadata_;
  std::string request_;
  std::vector<UniqueFd> fds_;
  PeerCredentials peer_;
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::chrono::steady_clock::time_point received_at_ = std::chrono::steady_clock::now();
  std::shared_ptr<MethodStats> stats_;
  bool end_recorded_ = false;

  // loop-thread state
  bool finished_ = false;
  bool remote_closed_;
  std::list<std::string> pending_messages_;  // not a deque: an empty deque allocates
  bool pending_remote_close_ = false;
  std::function<void(std::string)> on_message_;
  std::function<void()> on_remote_close_;
  std::function<void()> on_cancel_;
};

using Handler = std::function<void(std::shared_ptr<ServerCall>)>;

}  // namespace berth::ipc
