// berthctl metrics: the metrics of the whole system in the Prometheus text format, as berthd
// serves them on its [metrics] address (every service's samples carry berth_service="<name>").
// --service NAME asks one service's socket directly, without berthd.
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "berth/metrics/v1/metrics.berth.h"
#include "cli/command_group.h"
#include "cli/context.h"
#include "common/metrics.h"
#include "services/host/metrics_service.h"

namespace berth::cli {
namespace metrics_cmd {
namespace {

namespace mv1 = berth::metrics::v1;

nlohmann::json ToJson(const metrics::Families& families) {
  nlohmann::json out = nlohmann::json::array();
  for (const metrics::Family& f : families) {
    nlohmann::json samples = nlohmann::json::array();
    for (const metrics::Sample& s : f.samples) {
      nlohmann::json labels = nlohmann::json::object();
      for (const auto& [name, value] : s.labels) labels[name] = value;
      nlohmann::json sample = {{"labels", labels}};
      if (f.type == metrics::Type::kHistogram) {
        sample["count"] = s.count;
        sample["sum"] = s.sum;
        nlohmann::json buckets = nlohmann::json::array();
        for (const auto& [bound, count] : s.buckets)
          buckets.push_back({{"le", bound}, {"count", count}});
        sample["buckets"] = buckets;
      } else {
        sample["value"] = s.value;
      }
      samples.push_back(std::move(sample));
    }
    const char* type = f.type == metrics::Type::kCounter     ? "counter"
                       : f.type == metrics::Type::kHistogram ? "histogram"
                                                             : "gauge";
    out.push_back({{"name", f.name}, {"help", f.help}, {"type", type}, {"samples", samples}});
  }
  return out;
}

int ShowMetrics(CliContext& context, const std::string& service) {
  std::string target = service.empty() ? "berthd" : service;
  mv1::MetricsClient client(context.ClientFor(target));
  auto response = client.Collect(mv1::CollectRequest(), context.Options(std::chrono::seconds(15)));
  if (!response.ok()) return context.Fail(target, response.status(), "collect metrics");
  metrics::Families families = service::FamiliesFromProto(*response);
  if (context.json()) {
    context.PrintJson(ToJson(families));
  } else {
    fmt::print("{}", metrics::RenderText(families));
  }
  return 0;
}

void AddMetrics(CLI::App& app, CliContext& context) {
  auto service = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "metrics",
      "print the metrics of berthd and every service in the Prometheus text format (the same "
      "text berthd serves over HTTP when [metrics] address is set)");
  cmd->add_option("--service", *service,
                  "ask one service's socket directly (content, snapshot, metadata, runtime) "
                  "instead of berthd");
  cmd->footer(
      "Every sample carries berth_service=\"<name>\". Families: berth_ipc_* (requests, latency "
      "and bytes per method), berth_content_*, berth_snapshot_*, berth_gc_*, berth_task_* "
      "(cgroup cpu, memory, pids, OOM per task), berth_service_* (up, restarts), "
      "berth_events_total, process_*. --format json prints the same samples as JSON.");
  cmd->callback(Run(context, [&context, service] { return ShowMetrics(context, *service); }));
}

}  // namespace

BERTH_COMMAND_GROUP("metrics", AddMetrics);

}  // namespace metrics_cmd
}  // namespace berth::cli
