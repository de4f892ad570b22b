// berthctl bundle extract [run flags] [--id ID] [--force] IMAGE DIR
//   writes an OCI bundle: DIR/rootfs (a copy of the image's unpacked rootfs, a plain directory
//   tree) and DIR/config.json generated exactly as `berthctl run` would with the same flags, so
//   that `runc run -b DIR ID` and `crun run -b DIR ID` run the image as Berth would.
#include "cli/bundle.h"

#include <sys/stat.h>

#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/build_image.h"
#include "cli/command_group.h"
#include "cli/container_create.h"
#include "cli/image_services.h"
#include "client/bundle.h"
#include "client/local_image.h"
#include "client/spec/spec.h"
#include "common/fs.h"

namespace berth::cli {

CLI::App* BundleCommand(CLI::App& app) {
  auto found = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "bundle"; });
  if (!found.empty()) return found.front();
  auto* bundle = app.add_subcommand("bundle", "OCI bundles: extract an image, pack a directory");
  bundle->require_subcommand(1);
  return bundle;
}

namespace bundle_cmd {
namespace {

struct ExtractFlags {
  ContainerFlags container;
  std::string dir;
  bool force = false;
};

std::string SnapshotterOf(const ExtractFlags& f) {
  return f.container.snapshotter.empty() ? "overlayfs" : f.container.snapshotter;
}

// The rootfs copy and config.json; on failure the rootfs this call created is removed again.
Status WriteBundle(CliContext& context, ImageServices& s, const ExtractFlags& f,
                   const client::LocalImage& image) {
  BERTH_RETURN_IF_ERROR(client::PrepareBundleDir(f.dir, f.force));
  std::string rootfs = f.dir + "/rootfs";
  if (::mkdir(rootfs.c_str(), 0755) != 0) return ErrnoStatus(errno, "mkdir " + rootfs);
  auto lease = CommandLease::Create(*s.images, SnapshotterOf(f));
  Status written = lease.ok() ? client::ExtractRootfs(s.snapshots, image.TopChain(), rootfs,
                                                      [&](const std::string& key) {
                                                        return (*lease)->AddSnapshot(key);
                                                      })
                              : lease.status();
  if (written.ok()) {
    auto options = SpecOptionsFrom(context, f.container);
    spec::LayeredRootfsFiles files({rootfs});
    auto generated = options.ok() ? spec::GenerateSpec(image.config.raw, *options, files)
                                  : Result<nlohmann::json>(options.status());
    written = generated.ok() ? WriteFileAtomic(f.dir + "/config.json", generated->dump(2) + "\n")
                             : generated.status();
  }
  if (!written.ok()) {
    std::error_code ignored;
    std::filesystem::remove_all(rootfs, ignored);
  }
  return written;
}

int Extract(CliContext& context, ExtractFlags f) {
  if (f.container.id.empty()) {
    f.container.id = std::filesystem::path(f.dir).lexically_normal().filename().string();
    if (f.container.id.empty()) f.container.id = "bundle";
  }
  ImageServices s(context, SnapshotterOf(f));
  auto record = FindImage(*s.images, f.container.image);
  if (!record.ok()) return context.Fail("metadata", record.status(), "bundle extract");
  auto image =
      client::LoadImage(s.content, record->target, client::PlatformMatcher(client::HostPlatform()));
  if (!image.ok()) return context.Fail("content", image.status(), "image " + record->name);
  if (!s.snapshots.Stat(image->TopChain()).ok()) {
    return context.Fail(fmt::format("bundle extract: {} is not unpacked (berthctl image unpack {})",
                                    record->name, record->name));
  }
  Status written = WriteBundle(context, s, f, *image);
  if (!written.ok()) return context.Fail("bundle extract " + f.dir + ": " + written.message());
  if (context.json()) {
    context.PrintJson({{"bundle", f.dir}, {"image", record->name}, {"id", f.container.id}});
  } else {
    fmt::print("{}\n", f.dir);
  }
  return 0;
}

void AddBundleExtract(CLI::App& app, CliContext& context) {
  CLI::App* cmd = BundleCommand(app)->add_subcommand(
      "extract", "write IMAGE as an OCI bundle (DIR/config.json + DIR/rootfs) for runc or crun");
  auto flags = std::make_shared<ExtractFlags>();
  cmd->add_flag("--tty,-t", flags->container.terminal, "the process gets a terminal");
  cmd->add_option("--id", flags->container.id,
                  "container id for the spec (hostname, cgroup path); default: DIR's name");
  cmd->add_flag("--force", flags->force, "replace rootfs/ and config.json of a non-empty DIR");
  flags->container.AddFlags(cmd);
  cmd->add_option("image", flags->container.image, "image name")->required();
  cmd->add_option("dir", flags->dir, "bundle directory (created; must be empty)")->required();
  // Everything after DIR is the command, dashes included, as with `run IMAGE ID CMD...`.
  cmd->prefix_command();
  cmd->footer("CMD ARG...: the command to run instead of the image's (after IMAGE and DIR)");
  cmd->callback(Run(context, [&context, flags, cmd] {
    flags->container.args = cmd->remaining();
    return Extract(context, *flags);
  }));
}

}  // namespace

BERTH_COMMAND_GROUP("bundle-extract", AddBundleExtract);

}  // namespace bundle_cmd

}  // namespace berth::cli
