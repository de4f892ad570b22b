// berthctl services ls: the services berthd runs (NAME PID STATE RESTARTS UPTIME SOCKET ERROR).
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "berth/supervisor/v1/supervisor.berth.h"
#include "cli/command_group.h"
#include "cli/context.h"
#include "common/time.h"

namespace berth::cli {
namespace services_cmd {
namespace {

namespace sv = berth::supervisor::v1;

// "3d4h", "2h5m", "4m12s", "9s".
std::string FormatUptime(int64_t nanos) {
  int64_t s = std::max<int64_t>(0, nanos / 1'000'000'000);
  if (s >= 86400) return fmt::format("{}d{}h", s / 86400, s % 86400 / 3600);
  if (s >= 3600) return fmt::format("{}h{}m", s / 3600, s % 3600 / 60);
  if (s >= 60) return fmt::format("{}m{}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

int ListServices(CliContext& context) {
  sv::SupervisorClient supervisor(context.ClientFor("berthd"));
  auto response = supervisor.ListServices(google::protobuf::Empty(), context.Options());
  if (!response.ok()) return context.Fail("berthd", response.status(), "list services");
  int64_t now = NowUnixNanos();
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  for (const sv::ServiceInfo& s : response->services()) {
    bool started = s.pid() != 0 && s.has_started_at();
    int64_t started_at = s.started_at().seconds() * 1'000'000'000 + s.started_at().nanos();
    rows.push_back({s.name(), s.pid() ? std::to_string(s.pid()) : "-", s.state(),
                    std::to_string(s.restarts()), started ? FormatUptime(now - started_at) : "-",
                    s.socket(), s.last_error().empty() ? "-" : s.last_error()});
    nlohmann::json item = {{"name", s.name()},     {"pid", s.pid()},
                           {"state", s.state()},   {"restarts", s.restarts()},
                           {"socket", s.socket()}, {"last_error", s.last_error()}};
    if (started) {
      item["started_at"] = FormatRfc3339Nano(started_at);
      item["uptime_seconds"] = (now - started_at) / 1'000'000'000;
    }
    json.push_back(std::move(item));
  }
  context.PrintTable({"NAME", "PID", "STATE", "RESTARTS", "UPTIME", "SOCKET", "ERROR"}, rows, json);
  return 0;
}

void AddServices(CLI::App& app, CliContext& context) {
  CLI::App* group = app.add_subcommand("services", "the service processes berthd supervises");
  group->alias("service");
  group->require_subcommand(1);
  CLI::App* ls = group->add_subcommand("ls", "list services with their state and restarts");
  ls->alias("list");
  ls->callback(Run(context, [&context] { return ListServices(context); }));
}

}  // namespace

BERTH_COMMAND_GROUP("services", AddServices);

}  // namespace services_cmd

}  // namespace berth::cli
