// berth-ipc-bench: Berth's side of the ttrpc benchmark (see bench/run-ipc.sh).
//   berth-ipc-bench serve --socket PATH
//   berth-ipc-bench bench --socket PATH [--latency-calls 20000] [--duration 3s] [--inflight 64]
#include <csignal>
#include <cstdio>
#include <cstring>

#include "bench/ipc/bench_client.h"
#include "bench/ipc/bench_server.h"

namespace {

constexpr char kUsage[] =
    "usage: berth-ipc-bench serve --socket PATH\n"
    "       berth-ipc-bench bench --socket PATH [--latency-calls N] [--duration D] "
    "[--inflight K]\n";

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  bool serve = std::strcmp(argv[1], "serve") == 0;
  bool bench = std::strcmp(argv[1], "bench") == 0;
  if (!serve && !bench) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::set<std::string> known = {"socket"};
  if (bench) known.insert({"latency-calls", "duration", "inflight"});
  auto flags = berth::bench::Flags::Parse(argc - 2, argv + 2, known);
  if (!flags.ok()) {
    std::fprintf(stderr, "berth-ipc-bench %s: %s\n%s", argv[1], flags.status().message().c_str(),
                 kUsage);
    return 2;
  }
  return serve ? berth::bench::RunServe(*flags) : berth::bench::RunBench(*flags);
}
