#pragma once
// berthctl's `container` command group (aliases `containers`, `c`) may be shared by several
// files: cli/container.cc adds the metadata subcommands (ls, info, rm, label); others (create,
// run...) add theirs through ContainerCommand, which creates the group on first use.

namespace CLI {
class App;
}

namespace berth::cli {

// The `container` subcommand of `app`, created if it does not exist yet.
CLI::App* ContainerCommand(CLI::App& app);

}  // namespace berth::cli
