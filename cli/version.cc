// berthctl version: this client's version and berthd's.
#include "berth/version.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "berth/supervisor/v1/supervisor.berth.h"
#include "cli/command_group.h"
#include "cli/context.h"

namespace berth::cli {
namespace version_cmd {
namespace {

namespace sv = berth::supervisor::v1;

int ShowVersion(CliContext& context) {
  nlohmann::json client = {{"version", BERTH_VERSION}, {"revision", BERTH_REVISION}};
  sv::SupervisorClient supervisor(context.ClientFor("berthd"));
  auto server =
      supervisor.Version(google::protobuf::Empty(), context.Options(std::chrono::seconds(10)));
  if (context.json()) {
    nlohmann::json out = {{"client", client}};
    if (server.ok()) {
      out["server"] = {
          {"version", server->version()}, {"revision", server->revision()}, {"pid", server->pid()}};
    }
    context.PrintJson(out);
  } else {
    fmt::print("Client:\n  Version:  {}\n  Revision: {}\n\n", BERTH_VERSION, BERTH_REVISION);
    if (server.ok()) {
      fmt::print("Server:\n  Version:  {}\n  Revision: {}\n  PID:      {}\n", server->version(),
                 server->revision(), server->pid());
    }
  }
  if (!server.ok()) return context.Fail("berthd", server.status());
  return 0;
}

void AddVersion(CLI::App& app, CliContext& context) {
  CLI::App* cmd = app.add_subcommand("version", "print the client and berthd versions");
  cmd->callback(Run(context, [&context] { return ShowVersion(context); }));
}

}  // namespace

BERTH_COMMAND_GROUP("version", AddVersion);

}  // namespace version_cmd

}  // namespace berth::cli
