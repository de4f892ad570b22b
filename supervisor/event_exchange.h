#pragma once
// EventExchange: berthd's events hub. Publishers hand it events; it numbers them, makes them
// durable in the EventLog, and streams them to subscribers, live or replayed from the log.
//
// Ordering and durability: events are numbered in arrival order and written in groups on the
// libuv threadpool (group commit: while one batch is written, the next one gathers). A
// publisher's callback, and every subscriber, see an event once it is written to the log file,
// so it survives a crash or kill of berthd and a sequence number anyone saw is never reused across
// berthd restarts. fdatasync runs behind the writes (one at a time, covering everything written
// before it started), so publishers never wait for the disk's flush; a power loss can lose the
// events of the last flush interval (typically milliseconds). Drain() flushes everything.
//
// Subscribers: a subscriber is a cursor over the log window (the newest max_entries events, kept
// in memory) plus a filter. Replay (`since`) and live delivery are the same walk, so there is no
// gap or duplicate at the boundary. A subscriber whose connection does not drain (more than
// kMaxQueuedBytes unread) is not written to until it does; publishers never wait for it. Once it
// lags more than `max_subscriber_lag` events behind the live end (or behind the oldest event
// still in the window), its stream ends with RESOURCE_EXHAUSTED and it is forgotten.
//
// Thread-safety: loop-thread object (all methods on the loop thread).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "berth/events/v1/events.pb.h"
#include "common/status.h"
#include "ipc/event_loop.h"
#include "ipc/typed.h"
#include "supervisor/event_log.h"
#include "supervisor/filter.h"

namespace berth::supervisor {

class EventExchange {
 public:
  // Bytes a subscriber's connection may hold unread before we stop writing to it.
  static constexpr size_t kMaxQueuedBytes = 1u << 20;

  struct Options {
    std::string dir;                     // <root>/events
    uint64_t max_entries = 10000;        // the log bound (config events.max_log_entries)
    uint64_t max_subscriber_lag = 4096;  // events a live subscriber may fall behind (berthd:
                                         // min(4096, max_entries))
    // Called (loop thread) for every event handed to Publish, before it is committed; berthd
    // counts events by topic with it.
    std::function<void(const events::v1::Event&)> on_publish;
  };

  // Opens the log (recovering its window and the next sequence number).
  static Result<std::unique_ptr<EventExchange>> Open(ipc::EventLoop& loop, Options options);
  ~EventExchange();  // ends every subscription with UNAVAILABLE; call Drain() first

  // Commits `event` (its sequence field is assigned here; timestamp, namespace, topic and the
  // Any are taken as they are: validate before). `done` gets the sequence once the event is
  // durable, or the I/O error that prevented it.
  void Publish(events::v1::Event event, std::function<void(Result<uint64_t>)> done);

  // Starts streaming to `writer` (see SubscribeRequest in events.proto for since/replay_all).
  // INVALID_ARGUMENT for a bad filter; the stream is then not started.
  Status Subscribe(const events::v1::SubscribeRequest& request,
                   ipc::ServerWriter<events::v1::Event> writer);

  events::v1::StatusResponse GetStatus() const;
  uint64_t last_sequence() const { return last_durable_; }
  size_t subscriber_count() const { return subscribers_.size(); }

  // Calls `done` once nothing is pending, being written, or unsynced (for shutdown).
  void Drain(std::function<void()> done);

 private:
  struct Entry {
    uint64_t sequence;
    std::string bytes;  // serialized Event
    std::string topic;
    std::string ns;
  };
  struct Subscriber {
    ipc::ServerWriter<events::v1::Event> writer;
    Filter filter;
    uint64_t next = 0;        // next sequence to consider
    uint64_t replay_end = 0;  // sequences up to here are replay (not held to the lag bound)
    bool retry_armed = false;
  };
  struct Pending {
    events::v1::Event event;
    std::function<void(Result<uint64_t>)> done;
  };
  struct Batch;

  EventExchange(ipc::EventLoop& loop, Options options, std::unique_ptr<EventLog> log);
  void MaybeCommit();
  void MaybeSync();
  void Committed(std::unique_ptr<Batch> batch);
  uint64_t FirstSequence() const;
  void Pump(uint64_t id);
  void Drop(uint64_t id, const Status& why);
  void CheckDrained();

  ipc::EventLoop& loop_;
  Options options_;
  std::unique_ptr<EventLog> log_;  // touched by the threadpool only while committing_
  std::deque<Entry> window_;
  uint64_t last_durable_ = 0;
  uint64_t next_sequence_ = 1;
  std::vector<Pending> pending_;
  bool committing_ = false;
  bool syncing_ = false;
  std::vector<std::function<void()>> drain_waiters_;
  std::map<uint64_t, Subscriber> subscribers_;
  uint64_t next_subscriber_ = 1;
  std::shared_ptr<EventExchange*> self_;  // handed to callbacks; reset when destroyed
};

}  // namespace berth::supervisor
