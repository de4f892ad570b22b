// berthctl: the admin CLI. Global flags here; every command group is in its own file and joins
// through the command table (cli/command_group.h).
#include <CLI/CLI.hpp>
#include <algorithm>

#include "cli/command_group.h"
#include "cli/context.h"

namespace berth::cli {

std::vector<CommandGroup>& CommandTable() {
  static std::vector<CommandGroup> table;
  return table;
}

}  // namespace berth::cli

int main(int argc, char** argv) {
  using berth::cli::CliContext;
  CliContext context;
  CLI::App app("berthctl: manage Berth (images, containers, tasks, content, snapshots, events)",
               "berthctl");
  app.require_subcommand(1);
  app.add_option("--state,--address", context.state,
                 "Berth state dir holding the sockets (berthd --state)")
      ->envname("BERTH_STATE")
      ->capture_default_str();
  app.add_option("-n,--namespace", context.ns, "namespace")
      ->envname("BERTH_NAMESPACE")
      ->capture_default_str();
  app.add_option("--format", context.format, "output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", context.timeout_seconds, "seconds to wait for an answer");
  auto& table = berth::cli::CommandTable();
  std::sort(table.begin(), table.end(), [](auto& a, auto& b) { return a.name < b.name; });
  for (auto& group : table) group.add(app, context);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return context.exit_code;
}
