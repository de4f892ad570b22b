// berth-metadata-bench: how fast berth-metadata is.
//
//   IPC phases (a real berth-metadata process, one connection, --inflight calls in flight):
//     create N containers, get each one, list them all (ListStream), list with a filter;
//     the same for N images. Rates in operations per second; list in ms per full listing.
//   GC phase (in process, in-memory content/snapshot stores): --gc-images images, each an
//     index -> manifest -> config + 2 layers and a 2-snapshot chain; time of a collection that
//     keeps everything (mark) and of one that deletes everything after the images are gone.
//
// Usage: berth-metadata-bench [--binary PATH] [--count 100000] [--inflight 64]
//                             [--gc-images 10000] [--workdir /tmp]
// Writes are durable (fsync per batch): the disk under --workdir matters.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>

#include "bench/metadata/bench.h"
#include "common/logging.h"

int main(int argc, char** argv) {
  berth::bench::Options options;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  options.binary =
      (self.parent_path().parent_path().parent_path() / "services/metadata/berth-metadata")
          .string();
  CLI::App app("berth-metadata-bench: metadata throughput and GC time", "berth-metadata-bench");
  app.add_option("--binary", options.binary, "berth-metadata binary")->capture_default_str();
  app.add_option("--count", options.count, "containers and images")->capture_default_str();
  app.add_option("--inflight", options.inflight, "calls in flight")->capture_default_str();
  app.add_option("--gc-images", options.gc_images, "images for GC")->capture_default_str();
  app.add_option("--workdir", options.workdir, "where the database lives")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  (void)berth::InitLogging("berth-metadata-bench", "warn");
  fmt::print("berth-metadata-bench count={} inflight={} gc_images={} cpus={}\n", options.count,
             options.inflight, options.gc_images, sysconf(_SC_NPROCESSORS_ONLN));
  int code = berth::bench::RunIpcPhases(options);
  if (code != 0) return code;
  return berth::bench::RunGcPhase(options);
}
