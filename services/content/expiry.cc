#include "services/content/expiry.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace berth::content {

std::chrono::milliseconds ExpiryPeriodFor(std::chrono::nanoseconds max_age) {
  auto half = std::chrono::duration_cast<std::chrono::milliseconds>(max_age / 2);
  return std::clamp<std::chrono::milliseconds>(half, std::chrono::seconds(1),
                                               std::chrono::hours(1));
}

IngestExpiry::IngestExpiry(ipc::EventLoop& loop, LocalStore& store,
                           std::chrono::nanoseconds max_age, std::chrono::milliseconds period)
    : loop_(loop),
      store_(store),
      max_age_(max_age),
      period_(period),
      runner_(std::make_unique<BlockingRunner>(loop)) {}

IngestExpiry::~IngestExpiry() {
  loop_.Cancel(timer_);
  runner_.reset();  // waits for a run in progress
}

void IngestExpiry::Start() { RunOnce(); }

void IngestExpiry::RunOnce() {
  runner_->Run<Result<size_t>>(
      [this] { return store_.ExpireIngests(max_age_); },
      [this](Result<size_t> removed) {
        if (!removed.ok()) {
          spdlog::warn("ingest expiry failed: {}", removed.status().message());
        } else if (*removed > 0) {
          spdlog::info("expired stale ingests count={}", *removed);
        }
        timer_ = loop_.After(static_cast<uint64_t>(period_.count()), [this] { RunOnce(); });
      });
}

}  // namespace berth::content
