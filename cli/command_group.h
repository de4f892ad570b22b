#pragma once
// berthctl's command table. Each command group lives in its own file (cli/content.cc,
// cli/plugins.cc, ...) and adds itself to the table with BERTH_COMMAND_GROUP; main.cc builds the
// CLI11 app from the table. A group's function adds subcommands to the app and sets their
// callbacks; a callback returns the process exit code through CliContext::Exit / Fail.

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace berth::cli {

class CliContext;

struct CommandGroup {
  std::string name;  // for ordering in --help
  std::function<void(CLI::App& app, CliContext& context)> add;
};

std::vector<CommandGroup>& CommandTable();

struct CommandGroupRegistrar {
  CommandGroupRegistrar(std::string name, std::function<void(CLI::App&, CliContext&)> add) {
    CommandTable().push_back({std::move(name), std::move(add)});
  }
};

}  // namespace berth::cli

#define BERTH_COMMAND_GROUP(name, function) \
  static ::berth::cli::CommandGroupRegistrar berth_command_group_##function(name, function)
