#pragma once
// berth-runtime's metrics: tasks by state, and per-task cgroup figures asked from each shim
// (Stats, the same data as `berthctl task metrics`), labelled {namespace, id}:
//   berth_tasks{namespace,status}                   tasks known to the runtime
//   berth_task_cpu_seconds_total{namespace,id}      CPU time of the container's cgroup
//   berth_task_memory_bytes{namespace,id}           memory in use
//   berth_task_memory_limit_bytes{namespace,id}     memory limit (absent when unlimited)
//   berth_task_pids{namespace,id}                   processes and threads
//   berth_task_oom_kills_total{namespace,id}        processes the OOM killer ended
// Both cgroup v1 (io.containerd.cgroups.v1.Metrics) and v2 stats are understood. Namespaces are
// those with a directory under the runtime's state dir.

#include <string>

#include "common/metrics.h"
#include "services/host/service_host.h"
#include "services/runtime/task_manager.h"

namespace berth::runtime {

// Appends the samples of one task's stats (an Any as the shim sends it) to `out`.
void AppendTaskStats(const std::string& ns, const std::string& id,
                     const google::protobuf::Any& stats, metrics::Families& out);

// Registers the async collector with `host`; `manager` must outlive it.
void AddTaskMetrics(service::ServiceHost& host, TaskManager& manager);

}  // namespace berth::runtime
