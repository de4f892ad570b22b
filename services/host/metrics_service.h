#pragma once
// MetricsService: berth.metrics.v1.Metrics on a process's socket. Collect answers with
//   - the process's Registry (counters its code keeps, and its collectors),
//   - the IPC request metrics of its ipc::Server (berth_ipc_*, see ipc/method_stats.h),
//   - the standard process_* families (CPU, memory, fds, start time),
//   - what each async collector delivers (values that take IPC calls to learn, e.g. berthd
//     asking every service, berth-runtime asking every shim for its cgroup stats).
// ServiceHost serves one in every service; berthd serves one whose async collectors scrape the
// services (supervisor/metrics_scraper.h).
//
// Thread-safety: loop-thread object; async collectors may call `done` from any thread.

#include <functional>
#include <vector>

#include "berth/metrics/v1/metrics.berth.h"
#include "common/metrics.h"
#include "ipc/server.h"

namespace berth::service {

// The wire form of families and back.
void FamiliesToProto(const metrics::Families& families, metrics::v1::CollectResponse* out);
metrics::Families FamiliesFromProto(const metrics::v1::CollectResponse& response);

class MetricsService : public metrics::v1::MetricsService {
 public:
  // Delivers families once, on any thread; an error is better logged and answered with nothing
  // than failing the whole scrape.
  using AsyncCollector = std::function<void(std::function<void(metrics::Families)> done)>;

  // `registry` and `server` must outlive this object.
  MetricsService(metrics::Registry& registry, ipc::Server& server);

  void AddAsyncCollector(AsyncCollector collector);
  // Gathers every source above; `done` runs once, on the thread of the last async collector to
  // answer (the caller's when there is none).
  void CollectAll(std::function<void(metrics::Families)> done);

  void Collect(const metrics::v1::CollectRequest& request,
               ipc::Reply<metrics::v1::CollectResponse> reply) override;

 private:
  metrics::Registry& registry_;
  ipc::Server& server_;
  std::vector<AsyncCollector> async_;
};

}  // namespace berth::service
