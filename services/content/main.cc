// berth-content: the content store service (see services/content/content.h).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "common/time.h"
#include "services/content/expiry.h"
#include "services/content/local_store.h"
#include "services/content/metered_store.h"
#include "services/content/server.h"
#include "services/host/service_host.h"

int main(int argc, char** argv) {
  using namespace berth;
  std::string expiry_text = "24h";
  std::string metadata_socket;
  auto options = service::ParseServiceCommandLine("content", argc, argv, [&](CLI::App& app) {
    app.add_option("--ingest-expiry", expiry_text,
                   "remove in-flight writes not written to for this long (Go duration)")
        ->capture_default_str();
    app.add_option("--metadata-socket", metadata_socket,
                   "metadata service asked which ingests leases hold before expiring any "
                   "(default <state>/metadata.sock; 'none': no leases, for a store used alone)");
  });
  auto expiry = ParseDuration(expiry_text);
  if (!expiry.ok() || expiry->count() <= 0) {
    fmt::print(stderr, "berth-content: --ingest-expiry: {}\n",
               expiry.ok() ? "must be longer than 0 (e.g. 24h)" : expiry.status().message());
    return 2;
  }
  service::ServiceHost host(options);
  auto store = content::LocalStore::Open(host.DataDir());
  if (!store.ok()) {
    spdlog::error("cannot open the content store: {}", store.status().message());
    return 1;
  }
  // Every caller of the store is counted (berth_content_*, see metered_store.h).
  content::MeteredStore metered(**store, host.metrics());
  content::AddContentCollector(**store, host.metrics());
  content::ContentServer server(
      host.loop(), metered,
      [&host](const std::string& ns, const std::string& topic,
              const google::protobuf::Message& event) { host.Publish(ns, topic, event); });
  server.RegisterWith(host.server());
  if (metadata_socket.empty()) metadata_socket = options.state + "/metadata.sock";
  content::IngestExpiry expirer(
      host.loop(), **store, *expiry,
      metadata_socket == "none" ? nullptr : content::MetadataLeasedIngests(metadata_socket));
  expirer.Start();
  host.AddPlugin("berth.content.v1", "content");
  return host.Run();
}
