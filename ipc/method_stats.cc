#include "ipc/method_stats.h"

#include <algorithm>

namespace berth::ipc {

MethodStats::MethodStats(std::string service, std::string method)
    : service_(std::move(service)), method_(std::move(method)) {}

MethodStats::~MethodStats() {
  for (auto& h : latency_) delete h.load();
}

void MethodStats::Finished(Code code, std::chrono::steady_clock::duration elapsed) {
  size_t i = static_cast<size_t>(code);
  if (i >= kCodes) i = static_cast<size_t>(Code::kUnknown);
  calls_[i].fetch_add(1, std::memory_order_relaxed);
  metrics::Histogram* h = latency_[i].load(std::memory_order_acquire);
  if (h == nullptr) {
    auto* fresh = new metrics::Histogram(metrics::LatencyBuckets());
    if (latency_[i].compare_exchange_strong(h, fresh, std::memory_order_acq_rel)) {
      h = fresh;
    } else {
      delete fresh;  // another thread won; `h` now holds its histogram
    }
  }
  h->Observe(std::chrono::duration<double>(elapsed).count());
}

namespace {

metrics::Family& FamilyIn(metrics::Families& out, const char* name, const char* help,
                          metrics::Type type) {
  auto it = std::find_if(out.begin(), out.end(),
                         [name](const metrics::Family& f) { return f.name == name; });
  if (it != out.end()) return *it;
  out.push_back({name, help, type, {}});
  return out.back();
}

}  // namespace

void MethodStats::AppendTo(metrics::Families& out) const {
  using metrics::Type;
  for (size_t i = 0; i < kCodes; ++i) {
    uint64_t calls = calls_[i].load(std::memory_order_relaxed);
    metrics::Histogram* h = latency_[i].load(std::memory_order_acquire);
    if (calls == 0 || h == nullptr) continue;
    metrics::Labels labels = {
        {"service", service_}, {"method", method_}, {"code", CodeName(static_cast<Code>(i))}};
    FamilyIn(out, "berth_ipc_requests_total", "IPC calls served, by method and status code.",
             Type::kCounter)
        .samples.push_back({labels, static_cast<double>(calls), {}, 0, 0});
    FamilyIn(out, "berth_ipc_request_duration_seconds",
             "Time from a call's request to its last answer, by method and status code.",
             Type::kHistogram)
        .samples.push_back(h->Snapshot(labels));
  }
  metrics::Labels labels = {{"service", service_}, {"method", method_}};
  if (uint64_t in = received_.load(std::memory_order_relaxed)) {
    FamilyIn(out, "berth_ipc_received_bytes_total",
             "Payload bytes of requests and client stream messages received, by method.",
             Type::kCounter)
        .samples.push_back({labels, static_cast<double>(in), {}, 0, 0});
  }
  if (uint64_t sent = sent_.load(std::memory_order_relaxed)) {
    FamilyIn(out, "berth_ipc_sent_bytes_total",
             "Payload bytes of responses and server stream messages sent, by method.",
             Type::kCounter)
        .samples.push_back({labels, static_cast<double>(sent), {}, 0, 0});
  }
}

}  // namespace berth::ipc
