#pragma once
// Pieces of berth-metadata-bench (main.cc describes the benchmark).

#include <chrono>
#include <cstdint>
#include <string>

namespace berth::bench {

struct Options {
  std::string binary;     // berth-metadata
  int count = 100000;     // containers and images created through IPC
  int inflight = 64;      // calls in flight on one connection
  int gc_images = 10000;  // images for the GC phase
  std::string workdir = "/tmp";
};

struct Timer {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
};

// Starts berth-metadata in a temp dir, runs the IPC phases, prints their lines. Returns 0 on
// success.
int RunIpcPhases(const Options& options);
// In-process store + in-memory stores: GC time for options.gc_images images.
int RunGcPhase(const Options& options);

}  // namespace berth::bench
