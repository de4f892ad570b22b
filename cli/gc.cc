// berthctl gc [--dry-run]: runs berth-metadata's garbage collection now and prints what it
// removed (or, with --dry-run, what it would remove).
#include <fmt/format.h>

#include <CLI/CLI.hpp>

#include "berth/metadata/v1/gc.berth.h"
#include "cli/command_group.h"
#include "cli/context.h"

namespace berth::cli {
namespace gc_cmd {
namespace {

namespace v1 = ::berth::metadata::v1;

int Collect(CliContext& context, bool dry_run) {
  v1::GCClient client(context.ClientFor("metadata"));
  v1::CollectRequest request;
  request.set_dry_run(dry_run);
  auto report = client.Collect(request, context.Options(std::chrono::minutes(10)));
  if (!report.ok()) return context.Fail("metadata", report.status(), "gc");
  if (context.json()) {
    nlohmann::json snapshots = nlohmann::json::array();
    for (const auto& s : report->removed_snapshots()) {
      snapshots.push_back({{"snapshotter", s.snapshotter()}, {"key", s.key()}});
    }
    context.PrintJson({{"dry_run", report->dry_run()},
                       {"removed_content", report->removed_content()},
                       {"removed_snapshots", snapshots},
                       {"expired_leases", report->expired_leases()},
                       {"marked", report->marked()},
                       {"duration_ns", report->duration_ns()},
                       {"complete", report->complete()},
                       {"error", report->error()}});
  } else {
    const char* verb = dry_run ? "would remove" : "removed";
    for (const auto& digest : report->removed_content())
      fmt::print("{} content {}\n", verb, digest);
    for (const auto& s : report->removed_snapshots()) {
      fmt::print("{} snapshot {}/{}\n", verb, s.snapshotter(), s.key());
    }
    for (const auto& lease : report->expired_leases()) {
      fmt::print("{} expired lease {}\n", verb, lease);
    }
    fmt::print("{} {} blobs, {} snapshots, {} expired leases; kept {} in {:.1f} ms\n",
               dry_run ? "gc (dry run):" : "gc:", report->removed_content_size(),
               report->removed_snapshots_size(), report->expired_leases_size(), report->marked(),
               static_cast<double>(report->duration_ns()) / 1e6);
  }
  if (!report->complete()) {
    return context.Fail("gc stopped early: " + report->error() + " (it will retry by itself)");
  }
  return 0;
}

void AddGc(CLI::App& app, CliContext& context) {
  auto* gc = app.add_subcommand("gc", "collect unreferenced content and snapshots now");
  auto dry_run = std::make_shared<bool>(false);
  gc->add_flag("--dry-run", *dry_run, "only report what would be removed");
  gc->callback(Run(context, [&context, dry_run] { return Collect(context, *dry_run); }));
}

}  // namespace

BERTH_COMMAND_GROUP("gc", AddGc);

}  // namespace gc_cmd

}  // namespace berth::cli
