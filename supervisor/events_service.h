#pragma once
// The events exchange on the wire: berth.events.v1.Events (Publish, Forward, Subscribe, Status)
// and containerd.services.events.ttrpc.v1.Events/Forward (what containerd-compatible shims and
// Berth's own EventPublisher call), both over one EventExchange.
//
// Input checks (INVALID_ARGUMENT, nothing stored): a Forward without an event/envelope; a topic
// that is empty, does not start with '/', or has a component that is not an identifier
// ([A-Za-z0-9]+ joined by single '.', '_' or '-', as containerd's namespaces); a namespace that
// is not such an identifier or longer than 76 bytes; an event over kMaxEventBytes.
// The namespace is the request's metadata (containerd-namespace-ttrpc, "default" when absent);
// Forward keeps the envelope's namespace when it has one, and its timestamp.
//
// Thread-safety: loop thread, as the server calls it.

#include <string_view>

#include "berth/events/v1/events.berth.h"
#include "containerd/services/ttrpc/events/v1/events.berth.h"
#include "supervisor/event_exchange.h"

namespace berth::supervisor {

inline constexpr size_t kMaxEventBytes = 1u << 20;

Status ValidateTopic(std::string_view topic);
Status ValidateNamespace(std::string_view ns);

class EventsServer : public events::v1::EventsService {
 public:
  explicit EventsServer(EventExchange& exchange) : exchange_(exchange) {}

  void Publish(const events::v1::PublishRequest& request,
               ipc::Reply<events::v1::PublishResponse> reply) override;
  void Forward(const events::v1::ForwardRequest& request,
               ipc::Reply<events::v1::PublishResponse> reply) override;
  void Subscribe(const events::v1::SubscribeRequest& request,
                 ipc::ServerWriter<events::v1::Event> writer) override;
  void Status(const google::protobuf::Empty& request,
              ipc::Reply<events::v1::StatusResponse> reply) override;

 private:
  EventExchange& exchange_;
};

class ContainerdEventsServer : public containerd::services::events::ttrpc::v1::EventsService {
 public:
  explicit ContainerdEventsServer(EventExchange& exchange) : exchange_(exchange) {}

  void Forward(const containerd::services::events::ttrpc::v1::ForwardRequest& request,
               ipc::Reply<google::protobuf::Empty> reply) override;

 private:
  EventExchange& exchange_;
};

}  // namespace berth::supervisor
