// Client: the blocking face of AsyncClient, on a private loop thread.
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>

#include "ipc/client.h"

namespace berth::ipc {

Client::Client(std::string socket_path, ClientOptions options) : path_(std::move(socket_path)) {
  client_ = AsyncClient::Create(loop_, path_, options);
  loop_.StartThread();
}

Client::~Client() {
  std::promise<void> closed;
  loop_.Post([this, &closed] {
    client_->Close();
    client_.reset();
    closed.set_value();
  });
  closed.get_future().wait();
}

Result<Response> Client::Call(std::string service, std::string method, std::string payload,
                              CallOptions options) {
  auto promise = std::make_shared<std::promise<Result<Response>>>();
  auto future = promise->get_future();
  client_->Call(std::move(service), std::move(method), std::move(payload), std::move(options),
                [promise](Result<Response> result) { promise->set_value(std::move(result)); });
  return future.get();
}

struct Client::Stream::State {
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<Response> messages;
  std::optional<Result<Response>> final;
  bool send_closed = false;
};

std::unique_ptr<Client::Stream> Client::OpenStream(std::string service, std::string method,
                                                   std::string payload, StreamKind kind,
                                                   CallOptions options) {
  auto stream = std::unique_ptr<Stream>(new Stream());
  auto state = std::make_shared<Stream::State>();
  stream->state_ = state;
  if (kind == StreamKind::kServerStream) state->send_closed = true;
  StreamCallbacks callbacks{.on_message =
                                [state](Response&& reply) {
                                  std::lock_guard lock(state->mutex);
                                  state->messages.push_back(std::move(reply));
                                  state->changed.notify_all();
                                },
                            .on_finish =
                                [state](Result<Response> result) {
                                  std::lock_guard lock(state->mutex);
                                  state->final = std::move(result);
                                  state->changed.notify_all();
                                }};
  stream->stream_ = client_->OpenStream(std::move(service), std::move(method), std::move(payload),
                                        kind, std::move(options), std::move(callbacks));
  return stream;
}

Client::Stream::~Stream() {
  if (stream_) stream_->Abandon();
}

Status Client::Stream::Send(std::string payload) {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->send_closed) return Status(Code::kFailedPrecondition, "stream send side closed");
    if (state_->final) {
      return state_->final->ok() ? Status(Code::kFailedPrecondition, "stream already finished")
                                 : state_->final->status();
    }
  }
  stream_->Send(std::move(payload));
  return Status::Ok();
}

Status Client::Stream::CloseSend() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->send_closed) return Status::Ok();
    state_->send_closed = true;
  }
  stream_->CloseSend();
  return Status::Ok();
}

Result<std::optional<Response>> Client::Stream::Recv(
    std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(state_->mutex);
  auto ready = [this] { return !state_->messages.empty() || state_->final.has_value(); };
  if (timeout) {
    if (!state_->changed.wait_for(lock, *timeout, ready)) {
      return Status(Code::kDeadlineExceeded, "no stream message within the timeout");
    }
  } else {
    state_->changed.wait(lock, ready);
  }
  if (!state_->messages.empty()) {
    Response reply = std::move(state_->messages.front());
    state_->messages.pop_front();
    return std::optional<Response>(std::move(reply));
  }
  if (!state_->final->ok()) return state_->final->status();
  return std::optional<Response>();
}

Result<Response> Client::Stream::Finish() {
  BERTH_RETURN_IF_ERROR(CloseSend());
  std::unique_lock lock(state_->mutex);
  state_->changed.wait(lock, [this] { return state_->final.has_value(); });
  Result<Response> result = std::move(*state_->final);
  state_->final =
      Result<Response>(Status(Code::kFailedPrecondition, "stream result already taken"));
  return result;
}

}  // namespace berth::ipc
