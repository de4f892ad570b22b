// berth-metadata-bench: how fast berth-metadata is.
//
//   ipc      a real berth-metadata process, one connection, --inflight calls in flight: create
//            --count containers, get each one, list them all (ListStream), list with a filter;
//            the same for --count images. Rates in operations per second; lists in ms.
//   gc       in process, in-memory content/snapshot stores: --gc-images images, each an
//            index -> manifest -> config + 2 layers and a 2-snapshot chain; time of a collection
//            that keeps everything (mark) and of one that deletes everything after the images
//            are gone: the GC's own cost.
//   gc-real  the same images with every blob in a real berth-content and every snapshot in a
//            real berth-snapshot (native): what a user waits for, listing and deleting included.
//
// Every figure is also printed as "result <metric> <value>"; bench/metadata/run.sh runs
// containerd 1.6 through the same phases (ctrpeer/) and prints both side by side with ratios.
//
// Usage: berth-metadata-bench [--build-dir DIR] [--count 100000] [--inflight 64]
//                             [--gc-images 10000] [--phases ipc,gc,gc-real] [--workdir /tmp]
// Writes are durable (fsync per batch): the disk under --workdir matters.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>

#include "bench/metadata/bench.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  berth::bench::Options options;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  options.build_dir = self.parent_path().parent_path().parent_path().string();
  std::string workdir = "/tmp";
  CLI::App app("berth-metadata-bench: metadata throughput and GC time", "berth-metadata-bench");
  app.add_option("--build-dir", options.build_dir, "build dir with the service binaries")
      ->capture_default_str();
  app.add_option("--count", options.count, "containers and images")->capture_default_str();
  app.add_option("--inflight", options.inflight, "calls in flight")->capture_default_str();
  app.add_option("--gc-images", options.gc_images, "images for GC")->capture_default_str();
  app.add_option("--phases", options.phases, "comma-separated: ipc, gc, gc-real")
      ->capture_default_str();
  app.add_option("--workdir", workdir, "where databases and stores live")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  ::setenv("TMPDIR", workdir.c_str(), 1);
  (void)berth::InitLogging("berth-metadata-bench", "warn");
  fmt::print("berth-metadata-bench count={} inflight={} gc_images={} cpus={}\n", options.count,
             options.inflight, options.gc_images, sysconf(_SC_NPROCESSORS_ONLN));
  auto wants = [&](const std::string& phase) {
    return ("," + options.phases + ",").find("," + phase + ",") != std::string::npos;
  };
  if (wants("ipc") && berth::bench::RunIpcPhases(options) != 0) return 1;
  if (wants("gc") && berth::bench::RunGcPhase(options) != 0) return 1;
  if (wants("gc-real") && berth::bench::RunGcRealPhase(options) != 0) return 1;
  return 0;
}
