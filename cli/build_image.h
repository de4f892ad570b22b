#pragma once
// What `berthctl commit` and `berthctl bundle pack` share: the layer of a difference between
// two trees made by the diff service and recorded as a new image (client/image_build.h), under
// a lease that lives as long as the command, and the report of the result.

#include <functional>
#include <memory>
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

// A lease of berth-metadata for one command: it protects what the command makes (layer blobs,
// temporary views, the new image's snapshot) from garbage collection until the image record
// exists, and is deleted with this object. It also expires after a day, should the command be
// killed.
class CommandLease {
 public:
  static Result<std::unique_ptr<CommandLease>> Create(client::ImageStore& images,
                                                      std::string snapshotter);
  ~CommandLease();
  CommandLease(const CommandLease&) = delete;
  CommandLease& operator=(const CommandLease&) = delete;

  const std::string& id() const { return id_; }
  const std::string& snapshotter() const { return snapshotter_; }
  // Adds snapshot `key` of the lease's snapshotter (before the snapshot is made).
  Status AddSnapshot(const std::string& key);

 private:
  CommandLease(client::ImageStore& images, std::string id, std::string snapshotter)
      : images_(images), id_(std::move(id)), snapshotter_(std::move(snapshotter)) {}
  client::ImageStore& images_;
  std::string id_;
  std::string snapshotter_;
};

// `ref` normalised ("name:tag"); INVALID_ARGUMENT saying what is wrong with it.
Result<std::string> ImageName(const std::string& ref);

// Compares `lower` with `upper`, writes and records the image `name` (spec.layer is filled in)
// under `lease`;
// `compared` runs once the trees have been read (client::BuildImage).
// Prints "<name> <manifest digest>" (or JSON with the layer too) and returns the exit code.
int BuildAndReport(CliContext& context, ImageServices& s, const CommandLease& lease,
                   const std::vector<snapshot::Mount>& lower,
                   const std::vector<snapshot::Mount>& upper, const std::string& media_type,
                   client::ImageSpec spec, const std::string& name, const std::string& what,
                   const std::function<void()>& compared = {});

}  // namespace berth::cli
