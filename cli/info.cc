// berthctl info: one screen about this Berth: versions, root and state dirs, mode, the services
// and their state, the snapshotters, and the disk space content and snapshots take (from the
// metrics berthd gathers). Like `docker info` / `nerdctl info`.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <map>

#include "berth/metrics/v1/metrics.berth.h"
#include "berth/supervisor/v1/supervisor.berth.h"
#include "berth/version.h"
#include "cli/command_group.h"
#include "cli/context.h"
#include "common/metrics.h"
#include "common/time.h"
#include "services/host/metrics_service.h"

namespace berth::cli {
namespace info_cmd {
namespace {

namespace sv = berth::supervisor::v1;
namespace mv1 = berth::metrics::v1;

// "1.4 GiB", "12.0 MiB", "512 B".
std::string HumanBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    unit++;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[unit]);
}

// Disk use as the services report it: {"content": {"blobs": n, "bytes": n},
// "snapshots": {"<snapshotter>": {"snapshots": n, "bytes": n}}}; empty when unavailable.
nlohmann::json DiskUse(CliContext& context) {
  mv1::MetricsClient client(context.ClientFor("berthd"));
  auto response = client.Collect(mv1::CollectRequest(), context.Options(std::chrono::seconds(15)));
  nlohmann::json out = nlohmann::json::object();
  if (!response.ok()) return out;
  for (const metrics::Family& f : service::FamiliesFromProto(*response)) {
    for (const metrics::Sample& s : f.samples) {
      std::string snapshotter;
      for (const auto& [name, value] : s.labels) {
        if (name == "snapshotter") snapshotter = value;
      }
      if (f.name == "berth_content_blobs") out["content"]["blobs"] = s.value;
      if (f.name == "berth_content_blob_bytes") out["content"]["bytes"] = s.value;
      if (f.name == "berth_snapshot_snapshots")
        out["snapshots"][snapshotter]["snapshots"] = s.value;
      if (f.name == "berth_snapshot_bytes") out["snapshots"][snapshotter]["bytes"] = s.value;
    }
  }
  return out;
}

nlohmann::json Gather(CliContext& context, Status* error) {
  nlohmann::json info = {{"client", {{"version", BERTH_VERSION}, {"revision", BERTH_REVISION}}}};
  sv::SupervisorClient supervisor(context.ClientFor("berthd"));
  auto version = supervisor.Version(google::protobuf::Empty(), context.Options());
  if (!version.ok()) {
    *error = version.status();
    return info;
  }
  int64_t started = version->started_at().seconds() * 1'000'000'000 + version->started_at().nanos();
  info["server"] = {{"version", version->version()},
                    {"revision", version->revision()},
                    {"pid", version->pid()},
                    {"started_at", FormatRfc3339Nano(started)},
                    {"mode", version->mode()}};
  info["root"] = version->root();
  info["state"] = version->state();
  nlohmann::json services = nlohmann::json::array();
  if (auto list = supervisor.ListServices(google::protobuf::Empty(), context.Options());
      list.ok()) {
    for (const sv::ServiceInfo& s : list->services()) {
      services.push_back(
          {{"name", s.name()}, {"state", s.state()}, {"pid", s.pid()}, {"restarts", s.restarts()}});
    }
  }
  info["services"] = services;
  nlohmann::json snapshotters = nlohmann::json::array();
  sv::ListPluginsRequest request;
  request.add_filters("type==berth.snapshotter.v1");
  if (auto plugins = supervisor.ListPlugins(request, context.Options()); plugins.ok()) {
    for (const sv::Plugin& p : plugins->plugins()) {
      snapshotters.push_back({{"name", p.id()}, {"status", p.status()}, {"error", p.error()}});
    }
  }
  info["snapshotters"] = snapshotters;
  info["disk"] = DiskUse(context);
  return info;
}

void PrintText(const nlohmann::json& info) {
  fmt::print("Client version:  {} ({})\n", info["client"]["version"].get<std::string>(),
             info["client"]["revision"].get<std::string>());
  const nlohmann::json& server = info["server"];
  fmt::print("Server version:  {} ({}), berthd pid {}, up since {}\n",
             server["version"].get<std::string>(), server["revision"].get<std::string>(),
             server["pid"].get<uint32_t>(), server["started_at"].get<std::string>());
  fmt::print("Mode:            {}\n", server["mode"].get<std::string>());
  fmt::print("Root:            {}\nState:           {}\n", info["root"].get<std::string>(),
             info["state"].get<std::string>());
  fmt::print("Services:\n");
  for (const auto& s : info["services"]) {
    fmt::print("  {:<10} {:<9} pid {:<8} restarts {}\n", s["name"].get<std::string>(),
               s["state"].get<std::string>(), s["pid"].get<uint32_t>(),
               s["restarts"].get<uint32_t>());
  }
  fmt::print("Snapshotters:\n");
  for (const auto& s : info["snapshotters"]) {
    std::string error = s["error"].get<std::string>();
    fmt::print("  {:<10} {}{}\n", s["name"].get<std::string>(), s["status"].get<std::string>(),
               error.empty() ? "" : ": " + error);
  }
  const nlohmann::json& disk = info["disk"];
  fmt::print("Disk use:\n");
  if (disk.contains("content")) {
    fmt::print("  content    {} blobs, {}\n", disk["content"].value("blobs", 0.0),
               HumanBytes(disk["content"].value("bytes", 0.0)));
  } else {
    fmt::print("  content    unknown (berth-content is not running)\n");
  }
  if (disk.contains("snapshots")) {
    for (const auto& [name, use] : disk["snapshots"].items()) {
      fmt::print("  {:<10} {} snapshots, {}\n", name, use.value("snapshots", 0.0),
                 HumanBytes(use.value("bytes", 0.0)));
    }
  } else {
    fmt::print("  snapshots  unknown (berth-snapshot is not running)\n");
  }
}

void AddInfo(CLI::App& app, CliContext& context) {
  CLI::App* cmd = app.add_subcommand(
      "info", "show versions, root and state dirs, services, snapshotters and disk use");
  cmd->footer(
      "Disk use comes from the services' metrics (berthctl metrics): content is the size "
      "of the committed blobs, snapshots the space their directories take on disk.");
  cmd->callback(Run(context, [&context] {
    Status error;
    nlohmann::json info = Gather(context, &error);
    if (!error.ok()) return context.Fail("berthd", error, "info");
    if (context.json()) {
      context.PrintJson(info);
    } else {
      PrintText(info);
    }
    return 0;
  }));
}

}  // namespace

BERTH_COMMAND_GROUP("info", AddInfo);

}  // namespace info_cmd
}  // namespace berth::cli
