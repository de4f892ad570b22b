#pragma once
// What `berthctl commit` and `berthctl bundle pack` share: the layer of a difference between
// two trees made by the diff service and recorded as a new image (client/image_build.h), under
// a lease that lives as long as the command, and the report of the result.

#include <functional>
#include <string>
#include <vector>

#include "cli/context.h"
#include "cli/image_services.h"
#include "client/image_build.h"

namespace CLI {
class App;
}

namespace berth::cli {

// --compression, --message, --change, --snapshotter.
struct BuildFlags {
  std::string compression = "gzip";
  std::string message;
  std::vector<std::string> changes;
  std::string snapshotter = "overlayfs";

  void Add(CLI::App* command);
  // --compression as a layer media type and --change applied onto `changes`.
  Status Parse(std::string& media_type, client::ConfigChanges& changes) const;
};

// `ref` normalised ("name:tag"); INVALID_ARGUMENT saying what is wrong with it.
Result<std::string> ImageName(const std::string& ref);

// Compares `lower` with `upper`, writes and records the image `name` (spec.layer is filled in);
// `compared` runs once the trees have been read (client::BuildImage).
// Prints "<name> <manifest digest>" (or JSON with the layer too) and returns the exit code.
int BuildAndReport(CliContext& context, ImageServices& s, const std::string& snapshotter,
                   const std::vector<snapshot::Mount>& lower,
                   const std::vector<snapshot::Mount>& upper, const std::string& media_type,
                   client::ImageSpec spec, const std::string& name, const std::string& what,
                   const std::function<void()>& compared = {});

}  // namespace berth::cli
