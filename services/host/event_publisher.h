#pragma once
// EventPublisher: sends events to an events exchange over containerd's ttrpc events API
// (containerd.services.events.ttrpc.v1.Events/Forward). berthd serves that API, and so does
// containerd, so services and shims use the same publisher whichever daemon is above them.
//
// Publish() never blocks and never fails: events are queued (bounded, oldest dropped first with
// a warning) and sent in order by the loop; while the exchange is unreachable they wait and are
// retried with backoff, so a restarting berthd loses nothing that fits in the queue.
// Loop-thread object except Publish(), which is thread-safe.

#include <google/protobuf/message.h>

#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "containerd/services/ttrpc/events/v1/events.berth.h"
#include "ipc/client.h"
#include "ipc/event_loop.h"

namespace berth::service {

class EventPublisher {
 public:
  // `socket` is the exchange's ttrpc socket (berthd.sock, or containerd's TTRPC_ADDRESS).
  EventPublisher(ipc::EventLoop& loop, std::string socket, size_t max_queue = 4096);
  ~EventPublisher();

  // Queues `event` (wrapped in an Any with a bare type URL, e.g. "containerd.events.TaskExit",
  // as containerd expects) for `topic` in namespace `ns`.
  void Publish(const std::string& ns, const std::string& topic,
               const google::protobuf::Message& event);
  // Events waiting to be sent (for tests and shutdown).
  size_t queued() const;
  // Waits up to `timeout` for the queue to drain (not on the loop thread).
  bool Flush(std::chrono::milliseconds timeout);

 private:
  void SendNext();

  ipc::EventLoop& loop_;
  std::string socket_;
  size_t max_queue_;
  std::shared_ptr<ipc::AsyncClient> client_;
  std::unique_ptr<containerd::services::events::ttrpc::v1::EventsAsyncClient> events_;
  mutable std::mutex mutex_;
  std::deque<containerd::services::events::ttrpc::v1::ForwardRequest> queue_;
  bool sending_ = false;  // loop thread
  std::chrono::milliseconds backoff_{50};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace berth::service
