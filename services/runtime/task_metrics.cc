#include "services/runtime/task_metrics.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "containerd/cgroups/stats/v1/metrics.pb.h"
#include "containerd/cgroups/v2/stats/metrics.pb.h"
#include "services/host/disk_usage.h"

namespace berth::runtime {

namespace {

namespace cg1 = io::containerd::cgroups::v1;
namespace cg2 = io::containerd::cgroups::v2;

// A limit this large means "no limit" (cgroup v1 reports PAGE_COUNTER_MAX pages).
constexpr uint64_t kUnlimited = uint64_t{1} << 62;

metrics::Family& FamilyIn(metrics::Families& out, const char* name, const char* help,
                          metrics::Type type) {
  auto it = std::find_if(out.begin(), out.end(),
                         [name](const metrics::Family& f) { return f.name == name; });
  if (it != out.end()) return *it;
  out.push_back({name, help, type, {}});
  return out.back();
}

bool TypeIs(const google::protobuf::Any& any, const std::string& full_name) {
  const std::string& url = any.type_url();
  return url == full_name ||
         (url.size() > full_name.size() &&
          url.compare(url.size() - full_name.size() - 1, std::string::npos, "/" + full_name) == 0);
}

struct TaskFigures {
  double cpu_seconds = 0;
  double memory = 0;
  uint64_t memory_limit = 0;
  double pids = 0;
  double oom_kills = 0;
};

bool Figures(const google::protobuf::Any& stats, TaskFigures* f) {
  if (TypeIs(stats, cg1::Metrics::descriptor()->full_name())) {
    cg1::Metrics m;
    if (!m.ParseFromString(stats.value())) return false;
    f->cpu_seconds = static_cast<double>(m.cpu().usage().total()) / 1e9;
    f->memory = static_cast<double>(m.memory().usage().usage());
    f->memory_limit = m.memory().usage().limit();
    f->pids = static_cast<double>(m.pids().current());
    f->oom_kills = static_cast<double>(m.memory_oom_control().oom_kill());
    return true;
  }
  if (TypeIs(stats, cg2::Metrics::descriptor()->full_name())) {
    cg2::Metrics m;
    if (!m.ParseFromString(stats.value())) return false;
    f->cpu_seconds = static_cast<double>(m.cpu().usage_usec()) / 1e6;
    f->memory = static_cast<double>(m.memory().usage());
    f->memory_limit = m.memory().usage_limit();
    f->pids = static_cast<double>(m.pids().current());
    f->oom_kills = static_cast<double>(m.memory_events().oom_kill());
    return true;
  }
  return false;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

void AppendTaskStats(const std::string& ns, const std::string& id,
                     const google::protobuf::Any& stats, metrics::Families& out) {
  using metrics::Type;
  TaskFigures f;
  if (!Figures(stats, &f)) {
    spdlog::debug("task metrics: unknown stats type {} for id={}", stats.type_url(), id);
    return;
  }
  metrics::Labels labels = {{"namespace", ns}, {"id", id}};
  FamilyIn(out, "berth_task_cpu_seconds_total", "CPU time the task's cgroup used.", Type::kCounter)
      .samples.push_back({labels, f.cpu_seconds});
  FamilyIn(out, "berth_task_memory_bytes", "Memory the task's cgroup uses.", Type::kGauge)
      .samples.push_back({labels, f.memory});
  if (f.memory_limit != 0 && f.memory_limit < kUnlimited) {
    FamilyIn(out, "berth_task_memory_limit_bytes", "Memory limit of the task's cgroup.",
             Type::kGauge)
        .samples.push_back({labels, static_cast<double>(f.memory_limit)});
  }
  FamilyIn(out, "berth_task_pids", "Processes and threads in the task's cgroup.", Type::kGauge)
      .samples.push_back({labels, f.pids});
  FamilyIn(out, "berth_task_oom_kills_total",
           "Processes of the task the kernel's OOM killer ended.", Type::kCounter)
      .samples.push_back({labels, f.oom_kills});
}

void AddTaskMetrics(service::ServiceHost& host, TaskManager& manager) {
  host.AddAsyncMetrics([&manager](std::function<void(metrics::Families)> done) {
    struct Gather {
      std::mutex mutex;
      metrics::Families families;
      size_t pending = 1;
      std::function<void(metrics::Families)> done;
    };
    auto gather = std::make_shared<Gather>();
    gather->done = std::move(done);
    auto arrive = [gather](metrics::Families more) {
      std::unique_lock lock(gather->mutex);
      metrics::Merge(gather->families, std::move(more));
      if (--gather->pending != 0) return;
      lock.unlock();
      gather->done(std::move(gather->families));
    };
    std::vector<std::string> namespaces = service::SubDirectories(manager.config().state_dir);
    gather->pending += 2 * namespaces.size();
    for (const std::string& ns : namespaces) {
      manager.List(ns, [ns, arrive](Result<rt::ListTasksResponse> tasks) {
        metrics::Families out;
        if (tasks.ok()) {
          std::map<std::string, double> by_status;
          for (const auto& task : tasks->tasks())
            by_status[Lower(rt::Status_Name(task.status()))]++;
          metrics::Family f{
              "berth_tasks", "Tasks the runtime knows, by status.", metrics::Type::kGauge, {}};
          for (const auto& [status, n] : by_status) {
            f.samples.push_back({{{"namespace", ns}, {"status", status}}, n});
          }
          out.push_back(std::move(f));
        }
        arrive(std::move(out));
      });
      manager.Metrics(ns, rt::MetricsRequest(), [ns, arrive](Result<rt::MetricsResponse> stats) {
        metrics::Families out;
        if (stats.ok()) {
          for (const auto& m : stats->metrics()) AppendTaskStats(ns, m.id(), m.data(), out);
        }
        arrive(std::move(out));
      });
    }
    arrive({});
  });
}

}  // namespace berth::runtime
