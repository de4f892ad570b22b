#include "supervisor/event_exchange.h"

#include <spdlog/spdlog.h>
#include <uv.h>

#include <algorithm>

namespace berth::supervisor {

namespace ev = berth::events::v1;

namespace {

// Retry delay for a subscriber whose connection is full.
constexpr uint64_t kRetryMillis = 10;

class EntryFields : public FieldSource {
 public:
  EntryFields(const std::string& topic, const std::string& ns) : topic_(topic), ns_(ns) {}
  void Values(const std::vector<std::string>& path,
              std::vector<std::string_view>& out) const override {
    if (path.size() != 1) return;
    if (path[0] == "topic") out.push_back(topic_);
    if (path[0] == "namespace") out.push_back(ns_);
  }

 private:
  const std::string& topic_;
  const std::string& ns_;
};

}  // namespace

struct EventExchange::Batch {
  uv_work_t work{};
  std::unique_ptr<EventLog> log;  // owned by the batch while it is written
  std::vector<LogRecord> records;
  std::vector<Pending> pendings;
  Status result;
  std::weak_ptr<EventExchange*> owner;
};

Result<std::unique_ptr<EventExchange>> EventExchange::Open(ipc::EventLoop& loop, Options options) {
  std::deque<LogRecord> recovered;
  EventLog::Options log_options;
  log_options.dir = options.dir;
  log_options.max_entries = options.max_entries;
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, EventLog::Open(log_options, &recovered));
  std::unique_ptr<EventExchange> exchange(
      new EventExchange(loop, std::move(options), std::move(log)));
  for (LogRecord& record : recovered) {
    ev::Event event;
    if (!event.ParseFromString(record.data)) {
      spdlog::warn("event log: record seq={} does not parse as an event; skipped", record.sequence);
      continue;
    }
    exchange->window_.push_back(
        Entry{record.sequence, std::move(record.data), event.topic(), event.namespace_()});
  }
  exchange->last_durable_ = exchange->log_->last_sequence();
  exchange->next_sequence_ = exchange->last_durable_ + 1;
  spdlog::info("event log open dir={} events={} last_sequence={}", exchange->options_.dir,
               exchange->window_.size(), exchange->last_durable_);
  return exchange;
}

EventExchange::EventExchange(ipc::EventLoop& loop, Options options, std::unique_ptr<EventLog> log)
    : loop_(loop),
      options_(std::move(options)),
      log_(std::move(log)),
      self_(std::make_shared<EventExchange*>(this)) {}

EventExchange::~EventExchange() {
  self_.reset();
  auto subscribers = std::move(subscribers_);
  for (auto& [id, sub] : subscribers) {
    sub.writer.Close(Status(Code::kUnavailable, "berthd is shutting down"));
  }
  for (Pending& p : pending_) p.done(Status(Code::kUnavailable, "berthd is shutting down"));
}

void EventExchange::Publish(ev::Event event, std::function<void(Result<uint64_t>)> done) {
  if (options_.on_publish) options_.on_publish(event);
  pending_.push_back(Pending{std::move(event), std::move(done)});
  MaybeCommit();
}

// Starts writing everything pending as one batch unless a batch is already being written.
void EventExchange::MaybeCommit() {
  if (committing_ || pending_.empty() || !log_) return;
  auto batch = std::make_unique<Batch>();
  batch->pendings = std::move(pending_);
  pending_.clear();
  batch->records.reserve(batch->pendings.size());
  for (Pending& p : batch->pendings) {
    p.event.set_sequence(next_sequence_++);
    batch->records.push_back(LogRecord{p.event.sequence(), p.event.SerializeAsString()});
  }
  batch->log = std::move(log_);
  batch->owner = self_;
  batch->work.data = batch.get();
  committing_ = true;
  uv_queue_work(
      loop_.uv(), &batch.release()->work,
      [](uv_work_t* work) {
        auto* b = static_cast<Batch*>(work->data);
        b->result = b->log->Append(b->records, /*sync=*/false);
      },
      [](uv_work_t* work, int) {
        std::unique_ptr<Batch> b(static_cast<Batch*>(work->data));
        auto owner = b->owner.lock();
        if (owner && *owner) (*owner)->Committed(std::move(b));
      });
}

void EventExchange::Committed(std::unique_ptr<Batch> batch) {
  committing_ = false;
  log_ = std::move(batch->log);
  if (!batch->result.ok()) {
    spdlog::error("event log append failed: {}", batch->result.ToString());
    next_sequence_ = log_->last_sequence() + 1;
    Status failed = batch->result.Annotate("cannot store the event");
    for (Pending& p : batch->pendings) p.done(failed);
  } else {
    for (size_t i = 0; i < batch->pendings.size(); ++i) {
      ev::Event& e = batch->pendings[i].event;
      window_.push_back(Entry{e.sequence(), std::move(batch->records[i].data),
                              std::move(*e.mutable_topic()), std::move(*e.mutable_namespace_())});
      last_durable_ = e.sequence();
    }
    while (window_.size() > options_.max_entries) window_.pop_front();
    for (Pending& p : batch->pendings) p.done(p.event.sequence());
    std::vector<uint64_t> ids;
    for (auto& [id, sub] : subscribers_) ids.push_back(id);
    for (uint64_t id : ids) Pump(id);
  }
  MaybeSync();
  MaybeCommit();
  CheckDrained();
}

// Starts an fdatasync of what was written, unless one is running (it is then started again when
// that one ends). Runs next to the following write batch, so publishers wait for write(2) only.
void EventExchange::MaybeSync() {
  if (syncing_ || !log_ || !log_->unsynced()) return;
  Result<EventLog::SyncTarget> target = log_->PrepareSync();
  if (!target.ok()) {
    spdlog::error("event log sync failed: {}", target.status().ToString());
    return;
  }
  struct SyncJob {
    uv_work_t work{};
    EventLog::SyncTarget target;
    Status result;
    std::weak_ptr<EventExchange*> owner;
  };
  auto* job = new SyncJob{{}, std::move(target).value(), Status::Ok(), self_};
  job->work.data = job;
  syncing_ = true;
  uv_queue_work(
      loop_.uv(), &job->work,
      [](uv_work_t* work) {
        auto* j = static_cast<SyncJob*>(work->data);
        j->result = j->target.Run();
      },
      [](uv_work_t* work, int) {
        std::unique_ptr<SyncJob> j(static_cast<SyncJob*>(work->data));
        auto owner = j->owner.lock();
        if (!owner || !*owner) return;
        EventExchange& self = **owner;
        self.syncing_ = false;
        if (!j->result.ok()) spdlog::error("event log sync failed: {}", j->result.ToString());
        self.MaybeSync();
        self.CheckDrained();
      });
}

uint64_t EventExchange::FirstSequence() const {
  return window_.empty() ? last_durable_ + 1 : window_.front().sequence;
}

Status EventExchange::Subscribe(const ev::SubscribeRequest& request,
                                ipc::ServerWriter<ev::Event> writer) {
  std::vector<std::string> filters(request.filters().begin(), request.filters().end());
  BERTH_ASSIGN_OR_RETURN(Filter filter, Filter::Parse(filters, {"topic", "namespace"}));
  Subscriber sub{writer, std::move(filter)};
  sub.replay_end = last_durable_;
  if (request.replay_all()) {
    sub.next = FirstSequence();
  } else if (request.since() > 0) {
    uint64_t after = std::min<uint64_t>(request.since(), UINT64_MAX - 1);
    sub.next = std::max(after + 1, FirstSequence());
  } else {
    sub.next = last_durable_ + 1;
  }
  uint64_t id = next_subscriber_++;
  subscribers_.emplace(id, std::move(sub));
  std::weak_ptr<EventExchange*> weak = self_;
  writer.OnCancel([weak, id] {
    if (auto self = weak.lock(); self && *self) (*self)->subscribers_.erase(id);
  });
  Pump(id);
  return Status::Ok();
}

// Sends what the subscriber has not seen yet, as far as its connection takes it.
void EventExchange::Pump(uint64_t id) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  Subscriber& sub = it->second;
  if (sub.next <= last_durable_ && sub.next < FirstSequence()) {
    Drop(id, Error(Code::kResourceExhausted,
                   "subscriber fell behind: events up to {} left the log; resubscribe with "
                   "since={}",
                   FirstSequence() - 1, sub.next - 1));
    return;
  }
  auto pos = std::lower_bound(window_.begin(), window_.end(), sub.next,
                              [](const Entry& e, uint64_t seq) { return e.sequence < seq; });
  ipc::ServerCall& call = sub.writer.call();
  for (; pos != window_.end(); ++pos) {
    if (call.QueuedOutputBytes() > kMaxQueuedBytes) break;
    if (sub.filter.Match(EntryFields(pos->topic, pos->ns))) call.Send(pos->bytes);
    sub.next = pos->sequence + 1;
  }
  if (pos == window_.end()) return;
  // The connection is full: check the lag bound, then come back when it may have drained.
  uint64_t live_from = std::max(sub.next, sub.replay_end + 1);
  if (last_durable_ >= live_from && last_durable_ - live_from + 1 > options_.max_subscriber_lag) {
    Drop(id, Error(Code::kResourceExhausted,
                   "subscriber too slow: more than {} events behind; resubscribe with since={}",
                   options_.max_subscriber_lag, sub.next - 1));
    return;
  }
  if (sub.retry_armed) return;
  sub.retry_armed = true;
  std::weak_ptr<EventExchange*> weak = self_;
  loop_.After(kRetryMillis, [weak, id] {
    auto self = weak.lock();
    if (!self || !*self) return;
    auto found = (*self)->subscribers_.find(id);
    if (found == (*self)->subscribers_.end()) return;
    found->second.retry_armed = false;
    (*self)->Pump(id);
  });
}

void EventExchange::Drop(uint64_t id, const Status& why) {
  auto it = subscribers_.find(id);
  if (it == subscribers_.end()) return;
  spdlog::warn("dropping event subscriber: {}", why.message());
  auto writer = it->second.writer;
  subscribers_.erase(it);
  writer.Close(why);
}

ev::StatusResponse EventExchange::GetStatus() const {
  ev::StatusResponse status;
  status.set_first_sequence(window_.empty() ? 0 : window_.front().sequence);
  status.set_last_sequence(last_durable_);
  status.set_max_entries(options_.max_entries);
  status.set_subscribers(static_cast<uint32_t>(subscribers_.size()));
  return status;
}

void EventExchange::Drain(std::function<void()> done) {
  drain_waiters_.push_back(std::move(done));
  CheckDrained();
}

void EventExchange::CheckDrained() {
  if (committing_ || syncing_ || !pending_.empty() || drain_waiters_.empty()) return;
  if (log_ && log_->unsynced()) return MaybeSync();
  auto waiters = std::move(drain_waiters_);
  drain_waiters_.clear();
  for (auto& w : waiters) w();
}

}  // namespace berth::supervisor
