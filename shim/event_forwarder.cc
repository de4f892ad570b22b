#include "shim/event_forwarder.h"

#include <spdlog/spdlog.h>

#include "common/time.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"

namespace berth::shim {
namespace {

constexpr char kService[] = "containerd.services.events.ttrpc.v1.Events";
constexpr uint64_t kMaxBackoffMs = 2000;
constexpr std::chrono::milliseconds kCallTimeout{5000};

struct TopicType {
  std::string_view topic;
  std::string_view type;
};
constexpr TopicType kTypes[] = {
    {"/tasks/create", "containerd.events.TaskCreate"},
    {"/tasks/start", "containerd.events.TaskStart"},
    {"/tasks/exit", "containerd.events.TaskExit"},
    {"/tasks/delete", "containerd.events.TaskDelete"},
    {"/tasks/exec-added", "containerd.events.TaskExecAdded"},
    {"/tasks/exec-started", "containerd.events.TaskExecStarted"},
    {"/tasks/paused", "containerd.events.TaskPaused"},
    {"/tasks/resumed", "containerd.events.TaskResumed"},
    {"/tasks/oom", "containerd.events.TaskOOM"},
    {"/tasks/checkpointed", "containerd.events.TaskCheckpointed"},
};

// An answer the exchange gave on purpose: sending the same event again cannot change it.
bool Refused(Code code) {
  switch (code) {
    case Code::kInvalidArgument:
    case Code::kNotFound:
    case Code::kAlreadyExists:
    case Code::kPermissionDenied:
    case Code::kFailedPrecondition:
    case Code::kOutOfRange:
    case Code::kUnimplemented:
    case Code::kUnauthenticated:
    case Code::kResourceExhausted:
      return true;
    default:
      return false;  // away, timed out, or a failure of the moment: try again
  }
}

}  // namespace

std::string_view EventTypeName(std::string_view topic) {
  for (const auto& t : kTypes) {
    if (t.topic == topic) return t.type;
  }
  return {};
}

EventForwarder::EventForwarder(ipc::EventLoop& loop, std::string socket, std::string ns,
                               size_t max_queue)
    : loop_(loop), ns_(std::move(ns)), max_queue_(max_queue) {
  client_ = ipc::AsyncClient::Create(loop_, std::move(socket));
}

EventForwarder::~EventForwarder() {
  *alive_ = false;
  client_->Close();
}

void EventForwarder::Publish(const std::string& topic, const google::protobuf::Message& event) {
  std::string_view type = EventTypeName(topic);
  containerd::services::events::ttrpc::v1::ForwardRequest request;
  auto* envelope = request.mutable_envelope();
  int64_t now = NowUnixNanos();
  envelope->mutable_timestamp()->set_seconds(now / 1'000'000'000);
  envelope->mutable_timestamp()->set_nanos(static_cast<int32_t>(now % 1'000'000'000));
  envelope->set_namespace_(ns_);
  envelope->set_topic(topic);
  envelope->mutable_event()->set_type_url(type.empty() ? event.GetDescriptor()->full_name()
                                                       : std::string(type));
  event.SerializeToString(envelope->mutable_event()->mutable_value());
  if (queue_.size() >= max_queue_) {
    spdlog::warn("event queue full, dropping the oldest event");
    queue_.pop_front();
  }
  queue_.push_back(request.SerializeAsString());
  SendNext();
}

void EventForwarder::SendNext() {
  if (sending_ || queue_.empty()) return;
  sending_ = true;
  ipc::CallOptions options;
  options.timeout = kCallTimeout;
  options.ns = ns_;
  std::weak_ptr<bool> alive = alive_;
  client_->Call(kService, "Forward", queue_.front(), std::move(options),
                [this, alive](Result<ipc::Response> result) {
                  if (!alive.lock()) return;
                  sending_ = false;
                  if (result.ok() || Refused(result.status().code())) {
                    if (!result.ok()) {
                      spdlog::warn("event dropped, the exchange refused it: {}",
                                   result.status().ToString());
                    }
                    queue_.pop_front();
                    if (queue_.empty()) queue_.shrink_to_fit();
                    backoff_ms_ = 50;
                    SendNext();
                    return;
                  }
                  spdlog::debug("publishing failed, retrying in {}ms: {}", backoff_ms_,
                                result.status().ToString());
                  loop_.After(backoff_ms_, [this, alive] {
                    if (alive.lock()) SendNext();
                  });
                  backoff_ms_ = std::min(backoff_ms_ * 2, kMaxBackoffMs);
                });
}

}  // namespace berth::shim
