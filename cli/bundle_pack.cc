// berthctl bundle pack [--base IMAGE] [--compression gzip|zstd|none] [--message M]
//                      [--change INSTR]... DIR IMAGE-REF
//   builds an image from an OCI bundle: DIR's rootfs becomes one layer (with --base, the
//   difference against that image's rootfs becomes a layer on top of it) made by the diff
//   service, config.json's process becomes the image config (Cmd, Env, WorkingDir, User), and
//   the image is unpacked and recorded, ready to run, export or push.
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

// The base image's rootfs as a read-only view (removed by the caller), or nothing.
Result<std::vector<snapshot::Mount>> BaseView(ImageServices& s, const client::LocalImage& base,
                                              const std::string& key) {
  if (!s.snapshots.Stat(base.TopChain()).ok()) {
    return Status(Code::kFailedPrecondition,
                  "--base is not unpacked (berthctl image unpack IMAGE first)");
  }
  return s.snapshots.View(key, base.TopChain(), {});
}

int Pack(CliContext& context, const PackFlags& f) {
  client::ImageSpec spec;
  std::string media_type;
  auto bundle = client::ReadBundleSpec(f.dir);
  if (!bundle.ok()) return context.Fail("bundle pack: " + bundle.status().message());
  auto changes = client::ChangesFromSpec(bundle->spec);
  if (!changes.ok()) return context.Fail("bundle pack: " + f.dir + "/config.json: " +
                                         changes.status().message());
  spec.changes = std::move(changes).value();
  Status parsed = f.build.Parse(media_type, spec.changes);
  auto name = ImageName(f.ref);
  if (!parsed.ok() || !name.ok()) {
    return context.Fail("bundle pack: " + (parsed.ok() ? name.status() : parsed).message());
  }
  spec.platform = client::HostPlatform();
  spec.history = {"berthctl bundle pack", f.build.message, ""};
  ImageServices s(context, f.build.snapshotter);
  std::optional<client::LocalImage> base;
  std::vector<snapshot::Mount> lower;
  std::string view = fmt::format("bundle-pack-{:08x}", std::random_device()());
  if (!f.base.empty()) {
    auto record = FindImage(*s.images, f.base);
    if (!record.ok()) return context.Fail("metadata", record.status(), "bundle pack --base");
    auto loaded = client::LoadImage(s.content, record->target,
                                    client::PlatformMatcher(client::HostPlatform()));
    if (!loaded.ok()) return context.Fail("content", loaded.status(), "image " + record->name);
    base = std::move(loaded).value();
    auto mounts = BaseView(s, *base, view);
    if (!mounts.ok()) return context.Fail("bundle pack: " + mounts.status().message());
    lower = std::move(mounts).value();
    spec.base = &*base;
  }
  std::vector<snapshot::Mount> upper = {{"bind", bundle->rootfs, "", {"ro", "rbind"}}};
  int code = BuildAndReport(context, s, f.build.snapshotter, lower, upper, media_type,
                            std::move(spec), *name, "bundle pack");
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
  cmd->add_option("ref", flags->ref, "name of the new image (e.g. example.com/app:v1)")
      ->required();
  cmd->callback(Run(context, [&context, flags] { return Pack(context, *flags); }));
}

}  // namespace

BERTH_COMMAND_GROUP("bundle-pack", AddBundlePack);

}  // namespace bundle_pack_cmd

}  // namespace berth::cli
