// berthctl image pull / push: images between registries and the local services.
//   pull [--platform P | --all-platforms] [--max-concurrent N] [--no-unpack] [--snapshotter S]
//        [--quiet] [registry flags] REF
//   push [--platform P] [--max-concurrent N] [--chunk-size BYTES] [--quiet] [registry flags]
//        REF [LOCAL]           (LOCAL: the local image to push as REF; default REF)
// Registry flags: --plain-http --skip-verify --hosts-dir DIR --user USER:PASSWORD
// --docker-config FILE. Progress: per blob on a terminal, plain lines otherwise.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>

#include "cli/command_group.h"
#include "cli/context.h"
#include "cli/image.h"
#include "cli/image_services.h"
#include "client/pull.h"
#include "client/push.h"

namespace berth::cli {
namespace image_transfer_cmd {
namespace {

struct PullFlags {
  std::string ref, platform, snapshotter = "overlayfs";
  bool all_platforms = false, no_unpack = false, quiet = false;
  int max_concurrent = 3;
  RegistryFlags registry;
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

int DoPull(CliContext& context, PullFlags& f) {
  auto start = std::chrono::steady_clock::now();
  auto ref = client::ParseReference(f.ref);
  if (!ref.ok()) return context.Fail(ref.status().message());
  auto platform = PlatformFlag(f.platform);
  if (!platform.ok()) return context.Fail(platform.status().message());
  const std::atomic<bool>* cancel = InstallCancelHandler();
  auto options = f.registry.Options(cancel);
  if (!options.ok()) return context.Fail(options.status().message());
  auto registry = client::Registry::Create(*ref, *options);
  if (!registry.ok()) return context.Fail(registry.status().message());
  ImageServices services(context, f.snapshotter);
  client::Progress progress;
  client::ProgressPrinter printer(
      progress, stdout, client::ProgressPrinter::ModeFor(stdout, f.quiet || context.json()));
  client::PullOptions po;
  po.platform = *platform;
  po.all_platforms = f.all_platforms;
  po.max_concurrent = f.max_concurrent;
  po.unpack = !f.no_unpack;
  po.snapshotter = f.snapshotter;
  po.progress = &progress;
  po.cancel = cancel;
  client::PullServices ps{&services.content, &services.snapshots, &services.differ,
                          services.images.get()};
  printer.Start();
  auto result = client::Pull(**registry, *ref, ps, po);
  printer.Stop();
  if (!result.ok()) return context.Fail("pull " + ref->String() + ": " + result.status().message());
  double secs = Seconds(start);
  if (context.json()) {
    context.PrintJson({{"name", result->image.name},
                       {"digest", result->image.target.digest.ToString()},
                       {"manifest", result->local.manifest_descriptor.digest.ToString()},
                       {"snapshot", result->local.TopChain()},
                       {"already_present", result->already_present},
                       {"fetched_bytes", result->fetched},
                       {"layers_fetched", result->layers_fetched},
                       {"layers_unpacked", result->layers_unpacked},
                       {"seconds", secs}});
  } else if (!f.quiet) {
    fmt::print("{}: {}{}\n", result->image.name, result->image.target.digest.ToString(),
               result->already_present ? " (already present)" : "");
    fmt::print("done in {:.2f} s: {} fetched, {} layers unpacked\n", secs,
               client::HumanBytes(result->fetched), result->layers_unpacked);
  }
  return 0;
}

struct PushFlags {
  std::string ref, local, platform;
  bool quiet = false;
  int max_concurrent = 3;
  uint64_t chunk_size = 0;
  RegistryFlags registry;
};

int DoPush(CliContext& context, PushFlags& f) {
  auto ref = client::ParseReference(f.ref);
  if (!ref.ok()) return context.Fail(ref.status().message());
  ImageServices services(context, "overlayfs");
  auto image = FindImage(*services.images, f.local.empty() ? f.ref : f.local);
  if (!image.ok()) return context.Fail("metadata", image.status(), "push");
  const std::atomic<bool>* cancel = InstallCancelHandler();
  auto options = f.registry.Options(cancel);
  if (!options.ok()) return context.Fail(options.status().message());
  auto registry = client::Registry::Create(*ref, *options);
  if (!registry.ok()) return context.Fail(registry.status().message());
  client::PushOptions po;
  if (!f.platform.empty()) {
    auto platform = client::ParsePlatform(f.platform);
    if (!platform.ok()) return context.Fail(platform.status().message());
    po.platform = *platform;
  }
  po.max_concurrent = f.max_concurrent;
  po.chunk_size = f.chunk_size;
  client::Progress progress;
  po.progress = &progress;
  client::ProgressPrinter printer(
      progress, stdout, client::ProgressPrinter::ModeFor(stdout, f.quiet || context.json()));
  printer.Start();
  auto pushed = client::PushImage(**registry, services.content, image->target, po);
  printer.Stop();
  if (!pushed.ok()) return context.Fail("push " + ref->String() + ": " + pushed.status().message());
  if (context.json()) {
    context.PrintJson({{"name", ref->String()},
                       {"digest", pushed->target.digest.ToString()},
                       {"uploaded", pushed->uploaded},
                       {"mounted", pushed->mounted},
                       {"existed", pushed->existed}});
  } else if (!f.quiet) {
    fmt::print("{}: {} ({} blobs uploaded, {} mounted, {} already there)\n", ref->String(),
               pushed->target.digest.ToString(), pushed->uploaded, pushed->mounted,
               pushed->existed);
  }
  return 0;
}

void AddImageTransfer(CLI::App& app, CliContext& context) {
  CLI::App* image = ImageCommand(app);
  auto pull_flags = std::make_shared<PullFlags>();
  auto* pull = image->add_subcommand("pull", "pull an image from a registry and unpack it");
  pull->add_option("ref", pull_flags->ref, "image reference")->required();
  pull->add_option("--platform", pull_flags->platform, "os/arch[/variant] (default: this host)");
  pull->add_flag("--all-platforms", pull_flags->all_platforms, "fetch every platform's content");
  pull->add_option("--max-concurrent", pull_flags->max_concurrent, "parallel layer downloads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  pull->add_flag("--no-unpack", pull_flags->no_unpack, "fetch content only");
  pull->add_option("--snapshotter", pull_flags->snapshotter, "snapshotter to unpack into")
      ->capture_default_str();
  pull->add_flag("-q,--quiet", pull_flags->quiet, "no progress output");
  pull_flags->registry.Add(pull);
  pull->callback(Run(context, [&context, pull_flags] { return DoPull(context, *pull_flags); }));

  auto push_flags = std::make_shared<PushFlags>();
  auto* push = image->add_subcommand("push", "push a local image to a registry");
  push->add_option("ref", push_flags->ref, "destination reference")->required();
  push->add_option("local", push_flags->local, "local image to push (default: ref)");
  push->add_option("--platform", push_flags->platform, "push only this platform's manifest");
  push->add_option("--max-concurrent", push_flags->max_concurrent, "parallel uploads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  push->add_option("--chunk-size", push_flags->chunk_size,
                   "upload blobs in chunks of this many bytes (0: one request)");
  push->add_flag("-q,--quiet", push_flags->quiet, "no progress output");
  push_flags->registry.Add(push);
  push->callback(Run(context, [&context, push_flags] { return DoPush(context, *push_flags); }));
}

}  // namespace

BERTH_COMMAND_GROUP("image-transfer", AddImageTransfer);

}  // namespace image_transfer_cmd

}  // namespace berth::cli
