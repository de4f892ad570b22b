#pragma once
// IngestExpiry: removes ingests nobody wrote to for `max_age` (LocalStore::ExpireIngests), once
// when started and then every `period`, on the threadpool. Loop-thread object.

#include <chrono>
#include <memory>

#include "ipc/event_loop.h"
#include "services/content/blocking.h"
#include "services/content/local_store.h"

namespace berth::content {

// How often expiry runs for `max_age`: half of it, between 1 s and 1 h, so a stale ingest goes
// at most max_age + period after its last write.
std::chrono::milliseconds ExpiryPeriodFor(std::chrono::nanoseconds max_age);

class IngestExpiry {
 public:
  IngestExpiry(ipc::EventLoop& loop, LocalStore& store, std::chrono::nanoseconds max_age,
               std::chrono::milliseconds period);
  IngestExpiry(ipc::EventLoop& loop, LocalStore& store, std::chrono::nanoseconds max_age)
      : IngestExpiry(loop, store, max_age, ExpiryPeriodFor(max_age)) {}
  ~IngestExpiry();
  void Start();

 private:
  void RunOnce();

  ipc::EventLoop& loop_;
  LocalStore& store_;
  std::chrono::nanoseconds max_age_;
  std::chrono::milliseconds period_;
  ipc::EventLoop::TimerId timer_ = 0;
  std::unique_ptr<BlockingRunner> runner_;
};

}  // namespace berth::content
