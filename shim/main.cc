// berth-shim: containerd-compatible shim (installed also as containerd-shim-berth-v1).
#include <cstdio>
#include <cstdlib>

#include "shim/flags.h"
#include "shim/subcommands.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  // Whoever started this shim (berth-runtime, containerd) may run under systemd with
  // Type=notify: its NOTIFY_SOCKET is not ours, and runc, seeing it, would make `runc start`
  // wait for a READY=1 from the container.
  ::unsetenv("NOTIFY_SOCKET");
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
