// berthctl diff: the diff service of berth-snapshot (layer apply and compare), for debugging.
//   apply [--snapshotter S] [--media-type T] [--size N] [--sync] DIGEST KEY
//       applies blob DIGEST from the content store onto active snapshot KEY; prints the diffID
//   apply --file LAYER [--overlay] DIR
//       local mode, no daemon: applies a layer file (compression detected from its first bytes)
//       into directory DIR in this process; --overlay writes overlay whiteouts (DIR is an upper
//       dir) instead of deleting. Prints the diffID, entries and the time it took.
//   compare [--snapshotter S] [--media-type T] [--ref R] [--label K=V] [LOWER] UPPER
//       the changes from snapshot LOWER (none: from an empty tree) to UPPER as a layer in the
//       content store; committed snapshots are compared through temporary views. Prints the
//       blob's digest, size and diffID.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <random>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/command_group.h"
#include "cli/context.h"
#include "common/unique_fd.h"
#include "services/snapshot/apply.h"
#include "services/snapshot/proxy.h"

namespace berth::cli {
namespace diff_cmd {
namespace {

snapshot::ProxyOptions Options(CliContext& context) {
  snapshot::ProxyOptions options;
  options.ns = context.ns;
  options.timeout = context.Options(std::chrono::hours(1)).timeout;
  return options;
}

struct Args {
  std::string snapshotter;
  std::string media_type;
  std::string file;
  std::string digest;
  std::string key;
  std::string lower;
  std::string upper;
  std::string ref;
  std::vector<std::string> labels;
  int64_t size = 0;
  bool sync = false;
  bool overlay = false;
};

int ApplyLocal(CliContext& context, const Args& a) {
  UniqueFd fd(::open(a.file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return context.Fail(ErrnoStatus(errno, "open " + a.file).message());
  char head[8] = {};
  ssize_t n = ::pread(fd.get(), head, sizeof(head), 0);
  snapshot::ApplyOptions options;
  options.compression = snapshot::DetectCompression(std::string_view(head, n > 0 ? n : 0));
  options.whiteouts =
      a.overlay ? snapshot::WhiteoutMode::kOverlay : snapshot::WhiteoutMode::kDelete;
  options.sync = a.sync;
  snapshot::FdSource source(fd.get(), a.file);
  auto start = std::chrono::steady_clock::now();
  auto result = snapshot::ApplyLayer(a.key, source, options);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!result.ok()) return context.Fail(result.status().ToString());
  if (context.json()) {
    context.PrintJson({{"diff_id", result->diff_id.ToString()},
                       {"size", result->size},
                       {"entries", result->entries},
                       {"seconds", seconds}});
  } else {
    fmt::print("{}\nentries={} size={} seconds={:.3f} MB/s={:.1f}\n", result->diff_id,
               result->entries, result->size, seconds, result->size / seconds / 1e6);
  }
  return 0;
}

int Apply(CliContext& context, const Args& a) {
  if (!a.file.empty()) return ApplyLocal(context, a);
  auto digest = ParseDigest(a.digest);
  if (!digest.ok()) return context.Fail(digest.status().message());
  auto& client = context.ClientFor("snapshot");
  snapshot::SnapshotterProxy snapshots(client, a.snapshotter, Options(context));
  snapshot::DifferProxy differ(client, Options(context));
  auto mounts = snapshots.Mounts(a.key);
  if (!mounts.ok()) return context.Fail("snapshot", mounts.status(), "mounts of " + a.key);
  snapshot::Descriptor layer{a.media_type, *digest, a.size, {}};
  auto result = differ.Apply(layer, *mounts, {.sync = a.sync});
  if (!result.ok()) return context.Fail("snapshot", result.status(), "apply " + a.digest);
  if (context.json()) {
    context.PrintJson({{"diff_id", result->diff_id.ToString()},
                       {"size", result->size},
                       {"entries", result->entries}});
  } else {
    fmt::print("{}\n", result->diff_id);
  }
  return 0;
}

// Mounts of `key`; a committed snapshot gets a temporary view (removed by the caller).
Result<std::vector<snapshot::Mount>> MountsOf(snapshot::Snapshotter& snapshots,
                                              const std::string& key,
                                              std::vector<std::string>& views) {
  if (key.empty()) return std::vector<snapshot::Mount>();
  BERTH_ASSIGN_OR_RETURN(snapshot::Info info, snapshots.Stat(key));
  if (info.kind != snapshot::Kind::kCommitted) return snapshots.Mounts(key);
  std::random_device random;
  std::string view = fmt::format("berthctl-diff-{:08x}", random());
  views.push_back(view);
  return snapshots.View(view, key, {});
}

int Compare(CliContext& context, const Args& a) {
  auto& client = context.ClientFor("snapshot");
  snapshot::SnapshotterProxy snapshots(client, a.snapshotter, Options(context));
  snapshot::DifferProxy differ(client, Options(context));
  snapshot::CompareOptions options;
  if (!a.media_type.empty()) options.media_type = a.media_type;
  options.ref = a.ref;
  for (const std::string& pair : a.labels) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) return context.Fail("labels are KEY=VALUE: " + pair);
    options.labels[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  std::vector<std::string> views;
  std::string lower = a.upper.empty() ? "" : a.lower;
  std::string upper = a.upper.empty() ? a.lower : a.upper;
  auto lower_mounts = MountsOf(snapshots, lower, views);
  auto upper_mounts = lower_mounts.ok() ? MountsOf(snapshots, upper, views) : lower_mounts;
  Result<snapshot::CompareResult> result =
      upper_mounts.ok() ? differ.Compare(*lower_mounts, *upper_mounts, options)
                        : Result<snapshot::CompareResult>(upper_mounts.status());
  for (const std::string& view : views) (void)snapshots.Remove(view);
  if (!result.ok()) return context.Fail("snapshot", result.status(), "compare");
  if (context.json()) {
    context.PrintJson({{"media_type", result->descriptor.media_type},
                       {"digest", result->descriptor.digest.ToString()},
                       {"size", result->descriptor.size},
                       {"diff_id", result->diff_id.ToString()}});
  } else {
    fmt::print("{}\nsize={} diff_id={}\n", result->descriptor.digest, result->descriptor.size,
               result->diff_id);
  }
  return 0;
}

void AddDiff(CLI::App& app, CliContext& context) {
  auto a = std::make_shared<Args>();
  CLI::App* group = app.add_subcommand("diff", "apply and compare layers (berth-snapshot)");
  group->require_subcommand(1);
  group->add_option("--snapshotter", a->snapshotter, "overlayfs (default) or native");

  CLI::App* apply = group->add_subcommand("apply", "apply a layer onto an active snapshot");
  apply->add_option("--media-type", a->media_type, "layer media type")
      ->default_val(std::string(snapshot::kMediaTypeLayerGzip));
  apply->add_option("--size", a->size, "blob size to check (0: do not check)");
  apply->add_flag("--sync", a->sync, "sync the snapshot's filesystem before answering");
  apply->add_option("--file", a->file, "local mode: apply this layer file into DIR");
  apply->add_flag("--overlay", a->overlay, "local mode: write overlay whiteouts");
  apply->add_option("digest_or_dir", a->digest, "blob digest (or DIR with --file)")->required();
  apply->add_option("key", a->key, "active snapshot key");
  apply->callback(Run(context, [&context, a] {
    if (!a->file.empty()) {
      a->key = a->digest;  // DIR
    } else if (a->key.empty()) {
      return context.Fail("apply needs DIGEST KEY (or --file LAYER DIR)");
    }
    return Apply(context, *a);
  }));

  CLI::App* compare = group->add_subcommand("compare", "make a layer of the changes LOWER->UPPER");
  compare->add_option("--media-type", a->media_type,
                      "layer media type: tar+gzip (default), tar+zstd or tar");
  compare->add_option("--ref", a->ref, "content ingest ref");
  compare->add_option("--label", a->labels, "KEY=VALUE label of the blob");
  compare->add_option("lower", a->lower, "LOWER snapshot (omit to compare with nothing)")
      ->required();
  compare->add_option("upper", a->upper, "UPPER snapshot");
  compare->callback(Run(context, [&context, a] { return Compare(context, *a); }));
}

}  // namespace

BERTH_COMMAND_GROUP("diff", AddDiff);

}  // namespace diff_cmd

}  // namespace berth::cli
