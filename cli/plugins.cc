// berthctl plugins ls [FILTER...]: the plugins berthd and its services provide, like
// `ctr plugins ls` (TYPE ID PLATFORMS STATUS; STATUS carries the error when not ok).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>

#include "berth/supervisor/v1/supervisor.berth.h"
#include "cli/command_group.h"
#include "cli/context.h"

namespace berth::cli {
namespace plugins_cmd {
namespace {

namespace sv = berth::supervisor::v1;

int ListPlugins(CliContext& context, const std::vector<std::string>& filters) {
  sv::SupervisorClient supervisor(context.ClientFor("berthd"));
  sv::ListPluginsRequest request;
  for (auto& f : filters) request.add_filters(f);
  auto response = supervisor.ListPlugins(request, context.Options());
  if (!response.ok()) return context.Fail("berthd", response.status(), "list plugins");
  std::vector<std::vector<std::string>> rows;
  nlohmann::json json = nlohmann::json::array();
  for (const sv::Plugin& p : response->plugins()) {
    std::vector<std::string> platforms(p.platforms().begin(), p.platforms().end());
    std::string status = p.status();
    if (status != "ok" && !p.error().empty()) status += ": " + p.error();
    rows.push_back({p.type(), p.id(),
                    platforms.empty() ? "-" : fmt::format("{}", fmt::join(platforms, ",")),
                    status});
    json.push_back({{"type", p.type()},
                    {"id", p.id()},
                    {"platforms", platforms},
                    {"status", p.status()},
                    {"error", p.error()},
                    {"service", p.service()}});
  }
  context.PrintTable({"TYPE", "ID", "PLATFORMS", "STATUS"}, rows, json);
  return 0;
}

void AddPlugins(CLI::App& app, CliContext& context) {
  CLI::App* group = app.add_subcommand("plugins", "plugins of berthd and its services");
  group->alias("plugin");
  group->require_subcommand(1);
  CLI::App* ls = group->add_subcommand("ls",
                                       "list plugins (filters: type, id, status, service, "
                                       "platforms; e.g. type==berth.content.v1)");
  ls->alias("list");
  auto filters = std::make_shared<std::vector<std::string>>();
  ls->add_option("filters", *filters, "containerd-style filters (any may match)");
  ls->callback(Run(context, [&context, filters] { return ListPlugins(context, *filters); }));
}

}  // namespace

BERTH_COMMAND_GROUP("plugins", AddPlugins);

}  // namespace plugins_cmd

}  // namespace berth::cli
