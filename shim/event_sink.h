#pragma once
// EventSink: where the task service sends containerd task events (/tasks/create, /tasks/exit...).
// The daemon forwards them to TTRPC_ADDRESS with services/host EventPublisher; tests record them.
// Publish() must not block; events leave in the order published.

#include <google/protobuf/message.h>

#include <string>

namespace berth::shim {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Publish(const std::string& topic, const google::protobuf::Message& event) = 0;
};

}  // namespace berth::shim
