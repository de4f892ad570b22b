// berth-snapshot: snapshotters and the diff service (see services/snapshot/service.h).
#include <sys/resource.h>

#include <cstdlib>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "services/host/service_host.h"
#include "services/snapshot/disk_metrics.h"
#include "services/snapshot/service.h"

int main(int argc, char** argv) {
  using namespace berth;
  snapshot::ServiceSettings settings;
  auto options = service::ParseServiceCommandLine("snapshot", argc, argv, [&](CLI::App& app) {
    app.add_option("--content", settings.content_socket,
                   "berth-content socket (default <state>/content.sock)");
    app.add_option("--max-layer-bytes", settings.limits.max_bytes,
                   "refuse layers larger than this uncompressed (0: no limit)")
        ->capture_default_str();
    app.add_option("--max-layer-entries", settings.limits.max_entries,
                   "refuse layers with more tar entries than this")
        ->capture_default_str();
  });
  // Deep trees are walked with one fd per level; layers apply on libuv's threadpool.
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  ::setenv("UV_THREADPOOL_SIZE", "8", 0);
  service::ServiceHost host(options);
  auto started = snapshot::SnapshotService::Start(host, settings);
  if (!started.ok()) {
    spdlog::error("berth-snapshot cannot start: {}", started.status().message());
    return 1;
  }
  snapshot::AddDiskMetrics(host);
  return host.Run();
}
