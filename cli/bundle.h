#pragma once
// berthctl's `bundle` command group: `bundle extract` (cli/bundle.cc) and `bundle pack`
// (cli/bundle_pack.cc) each add their subcommand to the group from BundleCommand, which creates
// it on first use (the order in which command groups register does not matter).

namespace CLI {
class App;
}

namespace berth::cli {

// The `bundle` subcommand of `app` (requiring one subcommand), created if it does not exist.
CLI::App* BundleCommand(CLI::App& app);

}  // namespace berth::cli
