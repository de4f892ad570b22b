#include "supervisor/events_service.h"

#include <spdlog/spdlog.h>

#include <cctype>

#include "common/time.h"

namespace berth::supervisor {

namespace ev = berth::events::v1;
namespace cev = containerd::services::events::ttrpc::v1;

namespace {

// containerd's identifier: [A-Za-z0-9]+ separated by single '.', '_' or '-'.
bool IsIdentifier(std::string_view s) {
  if (s.empty()) return false;
  bool after_separator = true;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      after_separator = false;
    } else if ((c == '.' || c == '_' || c == '-') && !after_separator) {
      after_separator = true;
    } else {
      return false;
    }
  }
  return !after_separator;
}

void StampNow(google::protobuf::Timestamp* ts) {
  int64_t now = NowUnixNanos();
  ts->set_seconds(now / 1'000'000'000);
  ts->set_nanos(static_cast<int32_t>(now % 1'000'000'000));
}

// Checks a complete event before it is stored.
Status ValidateEvent(const ev::Event& event) {
  BERTH_RETURN_IF_ERROR(ValidateTopic(event.topic()));
  BERTH_RETURN_IF_ERROR(ValidateNamespace(event.namespace_()));
  if (!event.has_event() || event.event().type_url().empty()) {
    return Error(Code::kInvalidArgument, "event for topic {} has no payload (an Any with a type)",
                 event.topic());
  }
  if (event.ByteSizeLong() > kMaxEventBytes) {
    return Error(Code::kInvalidArgument, "event of {} bytes for topic {} exceeds the {} byte limit",
                 event.ByteSizeLong(), event.topic(), kMaxEventBytes);
  }
  return Status::Ok();
}

template <typename Done>
void Commit(EventExchange& exchange, ev::Event event, const char* how, Done done) {
  Status valid = ValidateEvent(event);
  if (!valid.ok()) {
    spdlog::debug("{} refused: {}", how, valid.message());
    done(Result<uint64_t>(valid));
    return;
  }
  spdlog::debug("{} topic={} namespace={}", how, event.topic(), event.namespace_());
  exchange.Publish(std::move(event), std::move(done));
}

}  // namespace

Status ValidateTopic(std::string_view topic) {
  if (topic.empty()) return Error(Code::kInvalidArgument, "topic must not be empty");
  if (topic.front() != '/') {
    return Error(Code::kInvalidArgument, "topic \"{}\" must start with '/'", topic);
  }
  std::string_view rest = topic.substr(1);
  while (true) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (!IsIdentifier(part)) {
      return Error(Code::kInvalidArgument,
                   "topic \"{}\": component \"{}\" is not an identifier ([A-Za-z0-9] separated "
                   "by '.', '_' or '-')",
                   topic, part);
    }
    if (slash == std::string_view::npos) return Status::Ok();
    rest = rest.substr(slash + 1);
  }
}

Status ValidateNamespace(std::string_view ns) {
  if (ns.size() > 76 || !IsIdentifier(ns)) {
    return Error(Code::kInvalidArgument,
                 "namespace \"{}\" is not valid: up to 76 of [A-Za-z0-9] separated by '.', '_' "
                 "or '-'",
                 ns);
  }
  return Status::Ok();
}

void EventsServer::Publish(const ev::PublishRequest& request,
                           ipc::Reply<ev::PublishResponse> reply) {
  ev::Event event;
  StampNow(event.mutable_timestamp());
  event.set_namespace_(reply.call().Namespace());
  event.set_topic(request.topic());
  *event.mutable_event() = request.event();
  Commit(exchange_, std::move(event), "publish", [reply](Result<uint64_t> seq) {
    if (!seq.ok()) return reply.Fail(seq.status());
    ev::PublishResponse response;
    response.set_sequence(*seq);
    reply.Ok(response);
  });
}

void EventsServer::Forward(const ev::ForwardRequest& request,
                           ipc::Reply<ev::PublishResponse> reply) {
  if (!request.has_event()) {
    return reply.Fail(berth::Status(Code::kInvalidArgument, "forward request carries no event"));
  }
  ev::Event event = request.event();
  event.set_sequence(0);
  if (!event.has_timestamp()) StampNow(event.mutable_timestamp());
  if (event.namespace_().empty()) event.set_namespace_(reply.call().Namespace());
  Commit(exchange_, std::move(event), "forward", [reply](Result<uint64_t> seq) {
    if (!seq.ok()) return reply.Fail(seq.status());
    ev::PublishResponse response;
    response.set_sequence(*seq);
    reply.Ok(response);
  });
}

void EventsServer::Subscribe(const ev::SubscribeRequest& request,
                             ipc::ServerWriter<ev::Event> writer) {
  berth::Status started = exchange_.Subscribe(request, writer);
  if (!started.ok()) writer.Close(started);
}

void EventsServer::Status(const google::protobuf::Empty&, ipc::Reply<ev::StatusResponse> reply) {
  reply.Ok(exchange_.GetStatus());
}

void ContainerdEventsServer::Forward(const cev::ForwardRequest& request,
                                     ipc::Reply<google::protobuf::Empty> reply) {
  if (!request.has_envelope()) {
    return reply.Fail(Status(Code::kInvalidArgument, "forward request carries no envelope"));
  }
  const cev::Envelope& envelope = request.envelope();
  ev::Event event;
  if (envelope.has_timestamp()) {
    *event.mutable_timestamp() = envelope.timestamp();
  } else {
    StampNow(event.mutable_timestamp());
  }
  event.set_namespace_(envelope.namespace_().empty() ? reply.call().Namespace()
                                                     : envelope.namespace_());
  event.set_topic(envelope.topic());
  *event.mutable_event() = envelope.event();
  Commit(exchange_, std::move(event), "containerd forward", [reply](Result<uint64_t> seq) {
    if (!seq.ok()) return reply.Fail(seq.status());
    reply.Ok(google::protobuf::Empty());
  });
}

}  // namespace berth::supervisor
