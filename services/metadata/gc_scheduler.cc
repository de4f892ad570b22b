// GcScheduler: when collections run.
#include <spdlog/spdlog.h>

#include <future>

#include "common/time.h"
#include "services/metadata/gc.h"
#include "services/metadata/metadata.h"

namespace berth::metadata {

GcScheduler::GcScheduler(MetadataStore& store, std::unique_ptr<GcStores> stores, Options options)
    : store_(store), stores_(std::move(stores)), options_(options) {
  if (options_.startup_delay.count() >= 0) ScheduleAt(Clock::now() + options_.startup_delay);
  thread_ = std::thread([this] { Loop(); });
}

GcScheduler::~GcScheduler() {
  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  waiters.swap(waiters_);
  for (auto& waiter : waiters) {
    waiter.done(Status(Code::kCancelled, "berth-metadata is stopping"));
  }
}

void GcScheduler::Attach() {
  GcHooks hooks;
  hooks.on_release = [this] { Trigger(); };
  hooks.on_reference = [this](const std::vector<GcRef>& refs) { guard_.Touch(refs); };
  store_.SetGcHooks(std::move(hooks));
}

void GcScheduler::ScheduleAt(Clock::time_point when) {
  if (!next_run_ || when < *next_run_) next_run_ = when;
}

void GcScheduler::Trigger() {
  {
    std::lock_guard lock(mutex_);
    ScheduleAt(Clock::now() + options_.delay);
  }
  cv_.notify_all();
}

void GcScheduler::Collect(bool dry_run, std::function<void(Result<GcReport>)> done) {
  {
    std::lock_guard lock(mutex_);
    waiters_.push_back({dry_run, std::move(done)});
  }
  cv_.notify_all();
}

Result<GcReport> GcScheduler::CollectSync(bool dry_run) {
  std::promise<Result<GcReport>> promise;
  Collect(dry_run, [&promise](Result<GcReport> report) { promise.set_value(std::move(report)); });
  return promise.get_future().get();
}

uint64_t GcScheduler::runs() const {
  std::lock_guard lock(mutex_);
  return runs_;
}

void GcScheduler::Loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    bool due = next_run_ && Clock::now() >= *next_run_;
    if (waiters_.empty() && !due) {
      if (next_run_) {
        cv_.wait_until(lock, *next_run_);
      } else {
        cv_.wait(lock);
      }
      continue;
    }
    // Run for the waiters of one kind (real collections first; a real one also satisfies a
    // scheduled run).
    bool dry_run = !waiters_.empty() && !due &&
                   std::all_of(waiters_.begin(), waiters_.end(), [](auto& w) { return w.dry_run; });
    std::vector<Waiter> batch;
    std::vector<Waiter> rest;
    for (auto& waiter : waiters_)
      (waiter.dry_run == dry_run ? batch : rest).push_back(std::move(waiter));
    waiters_ = std::move(rest);
    if (!dry_run) next_run_.reset();
    lock.unlock();

    auto result = metadata::Collect(store_, *stores_, guard_, dry_run);
    if (result.ok()) {
      spdlog::log(result->removed_content.empty() && result->removed_snapshots.empty()
                      ? spdlog::level::debug
                      : spdlog::level::info,
                  "gc done dry_run={} removed_content={} removed_snapshots={} "
                  "expired_leases={} marked={} duration_ms={} complete={}",
                  dry_run, result->removed_content.size(), result->removed_snapshots.size(),
                  result->expired_leases.size(), result->marked, result->duration_ns / 1000000,
                  result->complete);
    } else {
      // Once per failure streak at warn (a store may be down for long), then at debug.
      spdlog::log(backoff_.count() == 0 || dry_run ? spdlog::level::warn : spdlog::level::debug,
                  "gc failed, retrying later: {}", result.status().message());
    }
    for (auto& waiter : batch) waiter.done(result);

    lock.lock();
    ++runs_;
    if (dry_run) continue;
    bool failed = !result.ok() || !result->complete;
    if (failed) {
      backoff_ =
          backoff_.count() == 0 ? options_.retry_min : std::min(backoff_ * 2, options_.retry_max);
      ScheduleAt(Clock::now() + backoff_);
    } else {
      backoff_ = std::chrono::milliseconds(0);
      if (result->next_expiry_ns) {
        auto wait = std::chrono::nanoseconds(*result->next_expiry_ns - NowUnixNanos());
        ScheduleAt(Clock::now() + std::max(wait, std::chrono::nanoseconds(0)) +
                   std::chrono::milliseconds(10));
      }
    }
  }
}

}  // namespace berth::metadata
