// berthd: Berth's supervisor (see supervisor/daemon.h).
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "common/config.h"
#include "common/logging.h"
#include "supervisor/daemon.h"
#include "supervisor/supervisor_service.h"

int main(int argc, char** argv) {
  berth::supervisor::DaemonFlags flags;
  CLI::App app("berthd: the Berth supervisor (services, plugins, health, events)", "berthd");
  app.add_option("--config", flags.config_path,
                 "config file (default /etc/berth/config.toml if it exists)");
  app.add_option("--root", flags.root, "persistent data root (default /var/lib/berth)");
  app.add_option("--state", flags.state, "state dir for sockets (default /run/berth)");
  app.add_option("--log-level", flags.log_level, "trace|debug|info|warn|error (default info)");
  app.add_option("--mode", flags.mode,
                 "embedded: spawn and restart the services (default); systemd: spawn nothing, "
                 "the services are systemd units (overrides services.spawn)")
      ->check(CLI::IsMember({"embedded", "systemd"}));
  app.set_version_flag("--version", fmt::format("berthd {} ({})", berth::supervisor::BerthVersion(),
                                                berth::supervisor::BerthRevision()));
  CLI::App* config_cmd = app.add_subcommand("config", "configuration helpers");
  config_cmd->require_subcommand(1);
  config_cmd->add_subcommand("default", "print the default config, every key commented")
      ->callback([] { fmt::print("{}", berth::DefaultConfigToml()); });
  CLI11_PARSE(app, argc, argv);
  if (app.got_subcommand(config_cmd)) return 0;

  auto config = berth::supervisor::ResolveConfig(flags);
  if (!config.ok()) {
    fmt::print(stderr, "berthd: {}\n", config.status().message());
    return 2;
  }
  if (auto logging = berth::InitLogging("berthd", config->log_level); !logging.ok()) {
    fmt::print(stderr, "berthd: {}\n", logging.message());
    return 2;
  }
  berth::supervisor::Daemon daemon(std::move(config).value());
  return daemon.Run();
}
