// berth-metadata: the metadata service (LMDB namespaces, images, containers, leases, GC).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <ranges>

#include "berth/metadata/v1/events.pb.h"
#include "services/host/service_host.h"
#include "services/metadata/gc.h"
#include "services/metadata/gc_metrics.h"
#include "services/metadata/gc_stores_ipc.h"
#include "services/metadata/metadata.h"
#include "services/metadata/server.h"

int main(int argc, char** argv) {
  using namespace berth;
  std::string content_socket, snapshot_socket, snapshotters = "overlayfs,native";
  int gc_delay_ms = 100;
  int gc_startup_delay_ms = 1000;
  auto options = service::ParseServiceCommandLine("metadata", argc, argv, [&](CLI::App& app) {
    app.add_option("--content-socket", content_socket,
                   "content service socket for GC (default <state>/content.sock; 'none': no GC)");
    app.add_option("--snapshot-socket", snapshot_socket,
                   "snapshot service socket for GC (default <state>/snapshot.sock)");
    app.add_option("--snapshotters", snapshotters, "snapshotters GC looks at")
        ->capture_default_str();
    app.add_option("--gc-delay-ms", gc_delay_ms, "GC debounce after a delete")
        ->capture_default_str();
    app.add_option("--gc-startup-delay-ms", gc_startup_delay_ms,
                   "first collection after start (negative: none until a delete or 'berthctl gc')")
        ->capture_default_str();
  });
  if (content_socket.empty()) content_socket = options.state + "/content.sock";
  if (snapshot_socket.empty()) snapshot_socket = options.state + "/snapshot.sock";
  service::ServiceHost host(options);
  auto store = metadata::MetadataStore::Open(
      host.DataDir(),
      [&host](const std::string& ns, const std::string& topic,
              const google::protobuf::Message& event) { host.Publish(ns, topic, event); });
  if (!store.ok()) {
    spdlog::error("cannot open metadata database: {}", store.status().message());
    return 1;
  }
  std::unique_ptr<metadata::GcScheduler> gc;
  if (content_socket != "none") {
    std::vector<std::string> names;
    for (auto part : std::views::split(snapshotters, ','))
      names.emplace_back(part.begin(), part.end());
    metadata::GcScheduler::Options gc_options;
    gc_options.delay = std::chrono::milliseconds(gc_delay_ms);
    gc_options.startup_delay = std::chrono::milliseconds(gc_startup_delay_ms);
    gc = std::make_unique<metadata::GcScheduler>(
        **store,
        std::make_unique<metadata::MeteredGcStores>(
            std::make_unique<metadata::IpcGcStores>(content_socket, snapshot_socket, names),
            host.metrics()),
        gc_options);
    gc->Attach();
    metadata::AddGcCollector(*gc, host.metrics());
  }
  metadata::MetadataServer server(**store, gc.get());
  server.RegisterWith(host.server());
  host.AddPlugin("berth.metadata.v1", "lmdb");
  int code = host.Run();
  (*store)->Close();  // queued writes finish while the GC they may trigger still exists
  gc.reset();
  return code;
}
