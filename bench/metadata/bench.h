#pragma once
// Pieces of berth-metadata-bench (main.cc describes the benchmark).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/status.h"
#include "common/temp_dir.h"

namespace berth::bench {

struct Options {
  std::string build_dir;  // where services/<svc>/berth-<svc> are
  int count = 100000;     // containers and images created through IPC
  int inflight = 64;      // calls in flight on one connection
  int gc_images = 10000;  // images for the GC phases
  std::string phases = "ipc,gc,gc-real";

  std::string Binary(const std::string& service) const {
    return build_dir + "/services/" + service + "/berth-" + service;
  }
};

struct Timer {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

// "result <metric> <value>": the machine-readable line bench/metadata/run.sh tabulates against
// containerd's (bench/metadata/ctrpeer prints the same metrics).
void PrintResult(const std::string& metric, double value);

// Starts service `name` (berth-<name>) with root <dir>/root and state <dir>/state, without
// berthd, plus `args`; waits until its Health answers. Its output goes to <dir>/<name>.log.
Result<ChildProcess> StartService(const Options& options, const std::string& name,
                                  const TempDir& dir, const std::vector<std::string>& args);
std::string SocketOf(const TempDir& dir, const std::string& name);

// A real berth-metadata in a temp dir: create/get/list containers and images through IPC.
int RunIpcPhases(const Options& options);
// In-process store + in-memory stores: the GC's own time for options.gc_images images.
int RunGcPhase(const Options& options);
// berth-content, berth-snapshot and berth-metadata processes: GC time for options.gc_images
// images whose blobs and snapshots really exist.
int RunGcRealPhase(const Options& options);

}  // namespace berth::bench
