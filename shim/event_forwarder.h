#pragma once
// EventForwarder: the shim's EventSink. Sends each event to an events exchange over
// containerd's ttrpc events API (containerd.services.events.ttrpc.v1.Events/Forward), which both
// containerd (TTRPC_ADDRESS) and berthd serve, as containerd's own shims do.
//
// In order, one call in flight; while the exchange is away (containerd restarting) events wait in
// a bounded queue (oldest dropped first) and are retried with backoff (50 ms doubling to 2 s), so
// nothing that fits is lost. Retried: UNAVAILABLE, DEADLINE_EXCEEDED and other failures of the
// moment. An event the exchange refuses on purpose (INVALID_ARGUMENT, NOT_FOUND,
// FAILED_PRECONDITION, UNIMPLEMENTED, PERMISSION_DENIED, RESOURCE_EXHAUSTED...) is logged and
// dropped, so one bad event never blocks the ones behind it.
// Type URLs are bare names ("containerd.events.TaskExit") taken from a table by topic, so the
// shim never builds protobuf descriptors (that costs memory in every shim).
// Loop-thread object.

#include <deque>
#include <memory>
#include <string>

#include "ipc/client.h"
#include "ipc/event_loop.h"
#include "shim/event_sink.h"

namespace berth::shim {

class EventForwarder : public EventSink {
 public:
  EventForwarder(ipc::EventLoop& loop, std::string socket, std::string ns, size_t max_queue = 1024);
  ~EventForwarder() override;

  void Publish(const std::string& topic, const google::protobuf::Message& event) override;
  size_t queued() const { return queue_.size(); }

 private:
  void SendNext();

  ipc::EventLoop& loop_;
  std::string ns_;
  size_t max_queue_;
  std::shared_ptr<ipc::AsyncClient> client_;
  std::deque<std::string> queue_;  // serialized ForwardRequests
  bool sending_ = false;
  uint64_t backoff_ms_ = 50;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// "containerd.events.TaskExit" for "/tasks/exit"...; empty for an unknown topic.
std::string_view EventTypeName(std::string_view topic);

}  // namespace berth::shim
