#pragma once
// Typed wrappers over ServerCall / clients, used by the code protoc-gen-berth generates.
//
// Server side, one per RPC shape:
//   unary          void M(const Req&, Reply<Resp>)          reply.Ok(resp) / reply.Fail(status)
//   server stream  void M(const Req&, ServerWriter<Resp>)   writer.Send(resp)...
//   writer.Close(status) client stream  void M(ServerReader<Req, Resp>)          OnMessage/OnEnd,
//   then Finish(result) bidi           void M(ServerBidi<Req, Resp>)            OnMessage/OnEnd,
//   Send, Close(status)
// Every wrapper is a cheap copyable handle on the shared ServerCall; all methods are thread-safe.

#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "common/status.h"
#include "ipc/client.h"
#include "ipc/server_call.h"

namespace berth::ipc {

template <typename Message>
Result<Message> ParseMessage(const std::string& bytes) {
  Message message;
  if (!message.ParseFromString(bytes)) {
    return Status(Code::kInvalidArgument,
                  "malformed " + std::string(Message::descriptor()->full_name()) + " message");
  }
  return message;
}

template <typename Message>
std::string SerializeMessage(const Message& message) {
  std::string out;
  message.SerializeToString(&out);
  return out;
}

template <typename Resp>
class Reply {
 public:
  explicit Reply(std::shared_ptr<ServerCall> call) : call_(std::move(call)) {}
  ServerCall& call() const { return *call_; }
  void Ok(const Resp& response, std::vector<UniqueFd> fds = {}) const {
    call_->Finish(Status::Ok(), SerializeMessage(response), std::move(fds));
  }
  void Fail(const Status& status) const { call_->Finish(status); }
  void operator()(const Result<Resp>& result) const {
    result.ok() ? Ok(result.value()) : Fail(result.status());
  }

 private:
  std::shared_ptr<ServerCall> call_;
};

template <typename Resp>
class ServerWriter {
 public:
  explicit ServerWriter(std::shared_ptr<ServerCall> call) : call_(std::move(call)) {}
  ServerCall& call() const { return *call_; }
  void Send(const Resp& message, std::vector<UniqueFd> fds = {}) const {
    call_->Send(SerializeMessage(message), std::move(fds));
  }
  void Close(const Status& status = Status::Ok()) const { call_->CloseStream(status); }
  void OnCancel(std::function<void()> callback) const { call_->OnCancel(std::move(callback)); }

 private:
  std::shared_ptr<ServerCall> call_;
};

template <typename Req>
class MessageSource {
 public:
  explicit MessageSource(std::shared_ptr<ServerCall> call) : call_(std::move(call)) {}
  ServerCall& call() const { return *call_; }
  // A message that does not parse ends the call with INVALID_ARGUMENT.
  void OnMessage(std::function<void(Req)> callback) const {
    std::weak_ptr<ServerCall> weak = call_;
    call_->OnMessage([weak, callback = std::move(callback)](std::string bytes) {
      auto message = ParseMessage<Req>(bytes);
      if (message.ok()) {
        callback(std::move(message).value());
      } else if (auto call = weak.lock()) {
        call->Finish(message.status());
      }
    });
  }
  void OnEnd(std::function<void()> callback) const { call_->OnRemoteClose(std::move(callback)); }
  void OnCancel(std::function<void()> callback) const { call_->OnCancel(std::move(callback)); }

 protected:
  std::shared_ptr<ServerCall> call_;
};

template <typename Req, typename Resp>
class ServerReader : public MessageSource<Req> {
 public:
  using MessageSource<Req>::MessageSource;
  void Finish(const Result<Resp>& result) const {
    result.ok() ? this->call_->Finish(Status::Ok(), SerializeMessage(result.value()))
                : this->call_->Finish(result.status());
  }
};

template <typename Req, typename Resp>
class ServerBidi : public MessageSource<Req> {
 public:
  using MessageSource<Req>::MessageSource;
  void Send(const Resp& message, std::vector<UniqueFd> fds = {}) const {
    this->call_->Send(SerializeMessage(message), std::move(fds));
  }
  void Close(const Status& status = Status::Ok()) const { this->call_->CloseStream(status); }
};

// ---- client side ----

template <typename Resp>
Result<Resp> ParseReply(Result<Response> reply) {
  if (!reply.ok()) return reply.status();
  return ParseMessage<Resp>(reply->payload);
}

// Blocking stream with typed messages. Recv() gives nullopt at the clean end of the stream.
template <typename Req, typename Resp>
class TypedStream {
 public:
  explicit TypedStream(std::unique_ptr<Client::Stream> stream) : stream_(std::move(stream)) {}
  Status Send(const Req& message) { return stream_->Send(SerializeMessage(message)); }
  Status CloseSend() { return stream_->CloseSend(); }
  Result<std::optional<Resp>> Recv(std::optional<std::chrono::milliseconds> timeout = {}) {
    auto reply = stream_->Recv(timeout);
    if (!reply.ok()) return reply.status();
    if (!reply->has_value()) return std::optional<Resp>();
    last_fds_ = std::move((*reply)->fds);
    auto message = ParseMessage<Resp>((*reply)->payload);
    if (!message.ok()) return message.status();
    return std::optional<Resp>(std::move(message).value());
  }
  // For client streams: closes the send side and returns the single response.
  Result<Resp> Finish() { return ParseReply<Resp>(stream_->Finish()); }
  // File descriptors that came with the last message Recv() returned.
  std::vector<UniqueFd> TakeFds() { return std::move(last_fds_); }

 private:
  std::unique_ptr<Client::Stream> stream_;
  std::vector<UniqueFd> last_fds_;
};

}  // namespace berth::ipc
