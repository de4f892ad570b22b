#pragma once
// `berth-ipc-bench serve`: containerd's Events/Forward served by Berth's ipc::Server, discarding
// every event (as the Go peer's `serve` does), so a benchmark measures the transport.

#include "bench/ipc/flags.h"

namespace berth::bench {

// Flags: --socket PATH (required). Prints "ready" on stdout once listening and serves on the
// calling thread until SIGTERM or SIGINT. Returns the process exit code (errors on stderr).
int RunServe(const Flags& flags);

}  // namespace berth::bench
