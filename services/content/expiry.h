#pragma once
// IngestExpiry: removes ingests nobody wrote to for `max_age` (LocalStore::ExpireIngests), once
// when started and then every `period`, on the threadpool. Loop-thread object.
//
// Ingests a lease holds are kept however long they stay idle, as containerd keeps them: before
// each run it asks `leased` (berth-metadata's Leases.ListLeasedIngests, see
// MetadataLeasedIngests) which refs unexpired leases hold. When that answer cannot be had (the
// metadata service is down or restarting), the run removes nothing, says why in the log and is
// retried sooner (1 s doubling up to `period`). Without `leased` (berth-content
// --metadata-socket none: no metadata service at all) no ingest is leased.
//
// What this does not close: a lease that names an ingest in the instant between the answer and
// the removal of that ingest, idle for `max_age` by then, loses it (its writer starts over).

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "common/status.h"
#include "ipc/event_loop.h"
#include "services/content/blocking.h"
#include "services/content/local_store.h"

namespace berth::content {

// How often expiry runs for `max_age`: half of it, between 1 s and 1 h, so a stale ingest goes
// at most max_age + period after its last write.
std::chrono::milliseconds ExpiryPeriodFor(std::chrono::nanoseconds max_age);

// The ingest refs leases hold. Blocks; called on the threadpool, one call at a time.
using LeasedIngestsFn = std::function<Result<std::set<std::string>>()>;

// Asks the metadata service at `socket` (Leases.ListLeasedIngests), each call within `timeout`.
LeasedIngestsFn MetadataLeasedIngests(std::string socket,
                                      std::chrono::milliseconds timeout = std::chrono::seconds(5));

class IngestExpiry {
 public:
  IngestExpiry(ipc::EventLoop& loop, LocalStore& store, std::chrono::nanoseconds max_age,
               std::chrono::milliseconds period, LeasedIngestsFn leased = nullptr);
  IngestExpiry(ipc::EventLoop& loop, LocalStore& store, std::chrono::nanoseconds max_age,
               LeasedIngestsFn leased = nullptr)
      : IngestExpiry(loop, store, max_age, ExpiryPeriodFor(max_age), std::move(leased)) {}
  ~IngestExpiry();
  void Start();

 private:
  void RunOnce();

  ipc::EventLoop& loop_;
  LocalStore& store_;
  std::chrono::nanoseconds max_age_;
  std::chrono::milliseconds period_;
  LeasedIngestsFn leased_;
  std::chrono::milliseconds retry_{0};  // next wait after a run without the leases' answer
  ipc::EventLoop::TimerId timer_ = 0;
  std::unique_ptr<BlockingRunner> runner_;
};

}  // namespace berth::content
