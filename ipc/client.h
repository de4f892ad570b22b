#pragma once
// Clients for ttrpc over unix sockets.
//
// AsyncClient lives on an EventLoop (services calling services): calls complete through
// callbacks on the loop thread. Client is the blocking form (CLI, tests): it runs its own loop
// thread with an AsyncClient and waits for answers; it is safe to use from many threads at once.
//
// Both connect lazily. When nobody listens, a call fails with UNAVAILABLE "cannot reach <path>"
// unless ClientOptions::connect_timeout allows retrying: then the client retries with capped
// exponential backoff (10 ms doubling to 500 ms) until that time is up, which lets a service ride
// out the restart of a peer. When an established connection drops, calls in flight fail with
// UNAVAILABLE (the caller cannot know whether they ran) and the next call reconnects.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"
#include "ipc/connection.h"
#include "ipc/event_loop.h"
#include "ipc/server_call.h"

namespace berth::ipc {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{0};  // 0: one attempt per call
};

struct CallOptions {
  std::chrono::milliseconds timeout{0};  // deadline for the whole call; 0 = none
  std::string ns;                        // namespace, sent as containerd-namespace-ttrpc
  Metadata metadata;
  std::vector<UniqueFd> fds;  // sent with the Request frame
};

struct Response {
  std::string payload;
  std::vector<UniqueFd> fds;
};

enum class StreamKind { kServerStream, kClientStream, kBidi };

// Callbacks of a client-side stream (loop thread). on_message gets each Data frame's payload;
// on_finish runs once: OK with the final Response payload (empty for server streams that ended
// with a close frame), or the error.
struct StreamCallbacks {
  std::function<void(Response&&)> on_message;
  std::function<void(Result<Response>)> on_finish;
};

class AsyncClient;
namespace detail {
struct PendingCall;
}

// The client end of one stream. Send/CloseSend are thread-safe.
class ClientStream : public std::enable_shared_from_this<ClientStream> {
 public:
  void Send(std::string payload);
  void CloseSend();
  // Stops caring about the stream: no more callbacks.
  void Abandon();

 private:
  friend class AsyncClient;
  std::weak_ptr<AsyncClient> client_;
  std::shared_ptr<detail::PendingCall> pending_;
};

class AsyncClient : public std::enable_shared_from_this<AsyncClient> {
 public:
  static std::shared_ptr<AsyncClient> Create(EventLoop& loop, std::string socket_path,
                                             ClientOptions options = {});
  ~AsyncClient();

  // Unary call. `done` runs exactly once on the loop thread. Thread-safe.
  void Call(std::string service, std::string method, std::string payload, CallOptions options,
            std::function<void(Result<Response>)> done);
  // Opens a stream. For server streams `payload` is the request; for client and bidi streams it
  // is normally empty and messages follow with Send(). Thread-safe.
  std::shared_ptr<ClientStream> OpenStream(std::string service, std::string method,
                                           std::string payload, StreamKind kind,
                                           CallOptions options, StreamCallbacks callbacks);
  // Closes the connection; calls in flight fail with CANCELLED.
  void Close();

  const std::string& socket_path() const { return path_; }
  EventLoop& loop() { return loop_; }

 private:
  friend class ClientStream;
  using Pending = detail::PendingCall;
  AsyncClient(EventLoop& loop, std::string path, ClientOptions options);

  void Start(std::shared_ptr<Pending> pending);
  void StartOnLoop(const std::shared_ptr<Pending>& pending);
  void TryConnect();
  void Transmit(const std::shared_ptr<Pending>& pending);
  void OnFrame(Frame&& frame);
  void OnClosed(uint64_t generation, const Status& reason);
  void Complete(const std::shared_ptr<Pending>& pending, Result<Response> result);
  void FailQueued(const Status& status);
  void SendData(const std::shared_ptr<Pending>& pending, std::string payload, uint8_t flags);

  EventLoop& loop_;
  std::string path_;
  ClientOptions options_;
  std::shared_ptr<Connection> connection_;
  uint64_t generation_ = 0;  // bumps with every new connection
  uint32_t next_stream_id_ = 1;
  std::map<uint32_t, std::shared_ptr<Pending>> in_flight_;
  std::vector<std::shared_ptr<Pending>> queued_;  // waiting for a connection
  std::optional<std::chrono::steady_clock::time_point> connect_deadline_;
  std::chrono::milliseconds backoff_{10};
  EventLoop::TimerId reconnect_timer_ = 0;
  bool closed_ = false;
  std::string request_buffer_;  // Transmit's scratch space, reused by every call
};

// Blocking client: its own loop thread and AsyncClient.
class Client {
 public:
  explicit Client(std::string socket_path, ClientOptions options = {});
  ~Client();

  Result<Response> Call(std::string service, std::string method, std::string payload,
                        CallOptions options = {});

  // A blocking stream. Recv() returns the next message, nullopt at a clean end of the server's
  // side, or the error that ended the stream. Finish() closes the send side if still open and
  // waits for the final Response (client streams) or the end of the stream.
  class Stream {
   public:
    ~Stream();
    Status Send(std::string payload);
    Status CloseSend();
    Result<std::optional<Response>> Recv(std::optional<std::chrono::milliseconds> timeout = {});
    Result<Response> Finish();

   private:
    friend class Client;
    struct State;
    std::shared_ptr<State> state_;
    std::shared_ptr<ClientStream> stream_;
  };
  std::unique_ptr<Stream> OpenStream(std::string service, std::string method, std::string payload,
                                     StreamKind kind, CallOptions options = {});

  const std::string& socket_path() const { return path_; }

 private:
  std::string path_;
  EventLoop loop_;
  std::shared_ptr<AsyncClient> client_;
};

}  // namespace berth::ipc
