// berthctl bundle pack [--base IMAGE] [--compression gzip|zstd|none] [--message M]
//                      [--change INSTR]... DIR IMAGE-REF
//   builds an image from an OCI bundle: DIR's rootfs becomes one layer (with --base, the
//   difference against that image's rootfs becomes a layer on top of it) made by the diff
//   service, config.json's process becomes the image config (Cmd, Env, WorkingDir, User), and
//   the image is unpacked and recorded, ready to run, export or push.
#include <unistd.h>

#include <optional>
#include <random>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/build_image.h"
#include "cli/bundle.h"
#include "cli/command_group.h"
#include "client/bundle.h"
#include "client/platform.h"

namespace berth::cli {
namespace bundle_pack_cmd {
namespace {

struct PackFlags {
  BuildFlags build;
  std::string dir;
  std::string ref;
  std::string base;
};

// The --base image and its rootfs as a read-only view `key` (protected by `lease`, removed by
// the caller).
struct Base {
  client::LocalImage image;
  std::vector<snapshot::Mount> mounts;
};
Result<Base> LoadBase(ImageServices& s, const std::string& name, CommandLease& lease,
                      const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(auto record, FindImage(*s.images, name));
  Base base;
  BERTH_ASSIGN_OR_RETURN(
      base.image,
      client::LoadImage(s.content, record.target, client::PlatformMatcher(client::HostPlatform())));
  if (!s.snapshots.Stat(base.image.TopChain()).ok()) {
    return Error(Code::kFailedPrecondition,
                 "--base {} is not unpacked (berthctl image unpack {} first)", name, name);
  }
  BERTH_RETURN_IF_ERROR(lease.AddSnapshot(key));
  BERTH_ASSIGN_OR_RETURN(base.mounts, s.snapshots.View(key, base.image.TopChain(), {}));
  return base;
}

// The image config changes (config.json's process, then --change) and the new image's name.
Status ParseInputs(const PackFlags& f, client::ImageSpec& spec, std::string& media_type,
                   std::string& name, std::string& rootfs) {
  BERTH_ASSIGN_OR_RETURN(auto bundle, client::ReadBundleSpec(f.dir));
  auto changes = client::ChangesFromSpec(bundle.spec);
  if (!changes.ok()) return changes.status().Annotate(f.dir + "/config.json");
  spec.changes = std::move(changes).value();
  BERTH_RETURN_IF_ERROR(f.build.Parse(media_type, spec.changes));
  BERTH_ASSIGN_OR_RETURN(name, ImageName(f.ref));
  rootfs = bundle.rootfs;
  spec.platform = client::HostPlatform();
  spec.history = {"berthctl bundle pack", f.build.message, ""};
  return Status::Ok();
}

int Pack(CliContext& context, const PackFlags& f) {
  client::ImageSpec spec;
  std::string media_type, name, rootfs;
  Status parsed = ParseInputs(f, spec, media_type, name, rootfs);
  if (!parsed.ok()) return context.Fail("bundle pack: " + parsed.message());
  ImageServices s(context, f.build.snapshotter);
  auto lease = CommandLease::Create(*s.images, f.build.snapshotter);
  if (!lease.ok()) return context.Fail("metadata", lease.status(), "bundle pack");
  std::optional<Base> base;
  std::string view = fmt::format("bundle-pack-{}-{:08x}", ::getpid(), std::random_device()());
  if (!f.base.empty()) {
    auto loaded = LoadBase(s, f.base, **lease, view);
    if (!loaded.ok()) return context.Fail("bundle pack: " + loaded.status().message());
    base = std::move(loaded).value();
    spec.base = &base->image;
  }
  std::vector<snapshot::Mount> lower = base ? base->mounts : std::vector<snapshot::Mount>{};
  std::vector<snapshot::Mount> upper = {{"bind", rootfs, "", {"ro", "rbind"}}};
  int code = BuildAndReport(context, s, **lease, lower, upper, media_type, std::move(spec), name,
                            "bundle pack");
  if (base) (void)s.snapshots.Remove(view);
  return code;
}

void AddBundlePack(CLI::App& app, CliContext& context) {
  CLI::App* cmd = BundleCommand(app)->add_subcommand(
      "pack", "build an image from an OCI bundle directory (rootfs/ + config.json)");
  auto flags = std::make_shared<PackFlags>();
  cmd->add_option("--base", flags->base,
                  "an unpacked image: the layer holds only the difference against its rootfs");
  flags->build.Add(cmd);
  cmd->add_option("dir", flags->dir, "bundle directory")->required();
  cmd->add_option("ref", flags->ref, "name of the new image (e.g. example.com/app:v1)")->required();
  cmd->callback(Run(context, [&context, flags] { return Pack(context, *flags); }));
}

}  // namespace

BERTH_COMMAND_GROUP("bundle-pack", AddBundlePack);

}  // namespace bundle_pack_cmd

}  // namespace berth::cli
