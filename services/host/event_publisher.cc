#include "services/host/event_publisher.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "common/time.h"

namespace berth::service {

namespace events = containerd::services::events::ttrpc::v1;

namespace {
constexpr std::chrono::milliseconds kMaxBackoff{2000};
constexpr std::chrono::milliseconds kCallTimeout{5000};
}  // namespace

EventPublisher::EventPublisher(ipc::EventLoop& loop, std::string socket, size_t max_queue)
    : loop_(loop), socket_(std::move(socket)), max_queue_(max_queue) {
  client_ = ipc::AsyncClient::Create(loop_, socket_);
  events_ = std::make_unique<events::EventsAsyncClient>(client_);
}

EventPublisher::~EventPublisher() {
  *alive_ = false;
  client_->Close();
}

void EventPublisher::Publish(const std::string& ns, const std::string& topic,
                             const google::protobuf::Message& event) {
  events::ForwardRequest request;
  auto* envelope = request.mutable_envelope();
  int64_t now = NowUnixNanos();
  envelope->mutable_timestamp()->set_seconds(now / 1'000'000'000);
  envelope->mutable_timestamp()->set_nanos(static_cast<int32_t>(now % 1'000'000'000));
  envelope->set_namespace_(ns);
  envelope->set_topic(topic);
  envelope->mutable_event()->set_type_url(event.GetDescriptor()->full_name());
  event.SerializeToString(envelope->mutable_event()->mutable_value());
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_queue_) {
      spdlog::warn("event queue full, dropping oldest event topic={}",
                   queue_.front().envelope().topic());
      queue_.pop_front();
    }
    queue_.push_back(std::move(request));
  }
  std::weak_ptr<bool> alive = alive_;
  loop_.Dispatch([this, alive] {
    if (alive.lock() && *alive.lock()) SendNext();
  });
}

void EventPublisher::SendNext() {
  if (sending_) return;
  events::ForwardRequest request;
  {
    std::lock_guard lock(mutex_);
    if (queue_.empty()) return;
    request = queue_.front();
  }
  sending_ = true;
  ipc::CallOptions options;
  options.timeout = kCallTimeout;
  options.ns = request.envelope().namespace_();
  std::weak_ptr<bool> alive = alive_;
  events_->Forward(
      request, std::move(options), [this, alive](Result<google::protobuf::Empty> result) {
        auto live = alive.lock();
        if (!live || !*live) return;
        sending_ = false;
        if (result.ok() || result.status().code() == Code::kInvalidArgument) {
          // Delivered, or refused for good (retrying cannot help).
          if (!result.ok()) {
            spdlog::warn("event refused by {}: {}", socket_, result.status().ToString());
          }
          {
            std::lock_guard lock(mutex_);
            if (!queue_.empty()) queue_.pop_front();
          }
          backoff_ = std::chrono::milliseconds(50);
          SendNext();
          return;
        }
        spdlog::debug("publishing to {} failed, retrying in {}ms: {}", socket_, backoff_.count(),
                      result.status().ToString());
        loop_.After(static_cast<uint64_t>(backoff_.count()), [this, alive] {
          if (auto l = alive.lock(); l && *l) SendNext();
        });
        backoff_ = std::min(backoff_ * 2, kMaxBackoff);
      });
}

size_t EventPublisher::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

bool EventPublisher::Flush(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (queued() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace berth::service
