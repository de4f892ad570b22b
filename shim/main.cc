// berth-shim: containerd-compatible shim (installed also as containerd-shim-berth-v1).
#include <cstdio>

#include "shim/flags.h"
#include "shim/subcommands.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  auto flags = berth::shim::ParseFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "berth-shim: %s\n", flags.status().message().c_str());
    return 2;
  }
  if (flags->version) {
    std::printf("berth-shim:\n  Version: %s\n  Runtime API: containerd.task.v2\n", BERTH_VERSION);
    return 0;
  }
  if (flags->action == "start") return berth::shim::RunStart(*flags);
  if (flags->action == "delete") return berth::shim::RunDelete(*flags);
  if (flags->action == "serve") return berth::shim::RunServe(*flags);
  std::fprintf(stderr, "berth-shim: %s\n", std::string(berth::shim::Usage()).c_str());
  return 2;
}
