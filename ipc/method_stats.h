#pragma once
// MethodStats: what an ipc::Server counts for each registered method, so that every Berth
// process has request metrics without code of its own:
//   berth_ipc_requests_total{service,method,code}            calls ended, by status code
//   berth_ipc_request_duration_seconds{service,method,code}  request frame in -> last frame out
//   berth_ipc_received_bytes_total{service,method}           request and data payload bytes in
//   berth_ipc_sent_bytes_total{service,method}               response and data payload bytes out
// A call that ends because its peer went away counts with the code it was cancelled with
// (UNAVAILABLE, DEADLINE_EXCEEDED). Only methods that were called appear in the output.
//
// Thread-safety: updates are lock-free (the server makes them on its loop thread); AppendTo may
// run on any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "common/metrics.h"
#include "common/status.h"

namespace berth::ipc {

class MethodStats {
 public:
  MethodStats(std::string service, std::string method);
  ~MethodStats();
  MethodStats(const MethodStats&) = delete;
  MethodStats& operator=(const MethodStats&) = delete;

  void Finished(Code code, std::chrono::steady_clock::duration elapsed);
  void Received(size_t bytes) { received_.fetch_add(bytes, std::memory_order_relaxed); }
  void Sent(size_t bytes) { sent_.fetch_add(bytes, std::memory_order_relaxed); }

  // Adds this method's samples to the four families above (created in `out` when missing).
  void AppendTo(metrics::Families& out) const;

 private:
  static constexpr size_t kCodes = 17;  // the gRPC codes OK..UNAUTHENTICATED

  std::string service_;
  std::string method_;
  std::array<std::atomic<uint64_t>, kCodes> calls_{};
  std::array<std::atomic<metrics::Histogram*>, kCodes> latency_{};  // created on first use
  std::atomic<uint64_t> received_{0};
  std::atomic<uint64_t> sent_{0};
};

}  // namespace berth::ipc
