#pragma once
// berthctl's `image` command group (alias `images`) is shared by several files: cli/image.cc
// adds the metadata subcommands (ls, rm, tag, label) and other files (pull, push, import,
// export...) add theirs. Each gets the group from ImageCommand, which creates it on first use,
// so the order in which command groups register does not matter:
//
//   void AddImagePull(CLI::App& app, CliContext& context) {
//     auto* pull = ImageCommand(app)->add_subcommand("pull", "pull an image");
//     ...
//   }
//   BERTH_COMMAND_GROUP("image-pull", AddImagePull);

namespace CLI {
class App;
}

namespace berth::cli {

// The `image` subcommand of `app` (alias `images`, requiring one subcommand), created if it
// does not exist yet.
CLI::App* ImageCommand(CLI::App& app);

}  // namespace berth::cli
