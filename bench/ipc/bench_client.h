#pragma once
// `berth-ipc-bench bench`: Berth's ipc::AsyncClient against an Events/Forward server, measured
// the way the Go peer's `bench` measures ttrpc-go (tests/go/ttrpcpeer/bench.go):
//   latency    --latency-calls N sequential calls (after N/10 unmeasured warm-up calls);
//              p50 and p99 round trip in microseconds, request building included;
//   throughput --inflight K calls kept in flight on ONE connection for --duration; completed
//              calls per second (the drain after the deadline is counted in the elapsed time).
// Every call is a Forward of the bench envelope with namespace metadata and a 10 s timeout, as
// the Go peer sends. All calls are made on the client's loop thread, so no call needs a wakeup.

#include <chrono>
#include <cstdint>
#include <string>

#include "bench/ipc/flags.h"
#include "common/status.h"

namespace berth::bench {

struct BenchOptions {
  std::string socket;
  int64_t latency_calls = 20000;
  std::chrono::nanoseconds duration = std::chrono::seconds(3);
  int64_t inflight = 64;
};

struct BenchResult {
  double p50_us = 0;
  double p99_us = 0;
  double rps = 0;
};

// Runs both phases on a private loop on the calling thread. Any failed call fails the run
// (a number measured over errors would be meaningless) with that call's status.
Result<BenchResult> RunBenchmark(const BenchOptions& options);

// Flags: --socket PATH, --latency-calls N, --duration D, --inflight K. Prints
// {"p50_us":..,"p99_us":..,"rps":..} on stdout; returns the process exit code.
int RunBench(const Flags& flags);

}  // namespace berth::bench
