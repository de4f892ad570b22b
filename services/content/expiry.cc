#include "services/content/expiry.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "berth/metadata/v1/leases.berth.h"
#include "ipc/client.h"

namespace berth::content {

namespace {

// What a run did: removed ingests, or why it removed none.
struct RunResult {
  Status leases = Status::Ok();  // not OK: the leased refs were unknown, nothing was removed
  Result<size_t> removed = size_t{0};
};

}  // namespace

std::chrono::milliseconds ExpiryPeriodFor(std::chrono::nanoseconds max_age) {
  auto half = std::chrono::duration_cast<std::chrono::milliseconds>(max_age / 2);
  return std::clamp<std::chrono::milliseconds>(half, std::chrono::seconds(1),
                                               std::chrono::hours(1));
}

LeasedIngestsFn MetadataLeasedIngests(std::string socket, std::chrono::milliseconds timeout) {
  auto client = std::make_shared<ipc::Client>(socket);
  return [client, timeout]() -> Result<std::set<std::string>> {
    ipc::CallOptions options;
    options.timeout = timeout;
    auto stream = metadata::v1::LeasesClient(*client).ListLeasedIngests(
        metadata::v1::ListLeasedIngestsRequest(), std::move(options));
    std::set<std::string> refs;
    while (true) {
      auto message = stream.Recv();
      if (!message.ok()) return message.status();
      if (!message->has_value()) break;
      for (auto& ref : *(*message)->mutable_refs()) refs.insert(std::move(ref));
    }
    return refs;
  };
}

IngestExpiry::IngestExpiry(ipc::EventLoop& loop, LocalStore& store,
                           std::chrono::nanoseconds max_age, std::chrono::milliseconds period,
                           LeasedIngestsFn leased)
    : loop_(loop),
      store_(store),
      max_age_(max_age),
      period_(period),
      leased_(std::move(leased)),
      runner_(std::make_unique<BlockingRunner>(loop)) {}

IngestExpiry::~IngestExpiry() {
  loop_.Cancel(timer_);
  runner_.reset();  // waits for a run in progress
}

void IngestExpiry::Start() { RunOnce(); }

void IngestExpiry::RunOnce() {
  runner_->Run<RunResult>(
      [this] {
        RunResult result;
        std::set<std::string> keep;
        if (leased_) {
          auto refs = leased_();
          if (!refs.ok()) {
            result.leases = refs.status();
            return result;
          }
          keep = std::move(*refs);
        }
        result.removed = store_.ExpireIngests(max_age_, keep);
        return result;
      },
      [this](RunResult result) {
        auto next = period_;
        if (!result.leases.ok()) {
          retry_ =
              std::clamp<std::chrono::milliseconds>(retry_ * 2, std::chrono::seconds(1), period_);
          next = retry_;
          spdlog::warn(
              "ingest expiry removed nothing: cannot tell which ingests leases hold (metadata "
              "service: {}); every ingest is kept, next try in {} ms",
              result.leases.message(), next.count());
        } else {
          retry_ = std::chrono::milliseconds(0);
          if (!result.removed.ok()) {
            spdlog::warn("ingest expiry failed: {}", result.removed.status().message());
          } else if (*result.removed > 0) {
            spdlog::info("expired stale ingests count={}", *result.removed);
          }
        }
        timer_ = loop_.After(static_cast<uint64_t>(next.count()), [this] { RunOnce(); });
      });
}

}  // namespace berth::content
