#pragma once
// What berthctl's image transfer commands share (cli/image_transfer.cc, image_archive.cc,
// image_local.cc): the services as client-library interfaces (content, snapshots, diff,
// images+leases over IPC), the registry flags, and Ctrl-C handling for long transfers.

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "cli/context.h"
#include "client/auth.h"
#include "client/image_store.h"
#include "client/platform.h"
#include "client/registry.h"
#include "services/content/proxy.h"
#include "services/snapshot/proxy.h"

namespace CLI {
class App;
}

namespace berth::cli {

// Proxies to the services of the context's state dir and namespace.
struct ImageServices {
  ImageServices(CliContext& context, const std::string& snapshotter);
  content::Proxy content;
  snapshot::SnapshotterProxy snapshots;
  snapshot::DifferProxy differ;
  std::unique_ptr<client::ImageStore> images;
};

// --plain-http, --skip-verify, --hosts-dir, --user, --docker-config.
struct RegistryFlags {
  bool plain_http = false;
  bool skip_verify = false;
  std::string hosts_dir = std::string(client::kDefaultHostsDir);
  std::string user{};
  std::string docker_config{};  // default: $DOCKER_CONFIG/config.json or ~/.docker/config.json
  client::CredentialStore credentials{};

  void Add(CLI::App* command);
  // Loads the credentials and builds the options (the flags object must outlive the registry).
  Result<client::RegistryOptions> Options(const std::atomic<bool>* cancel);
};

// --platform / --all-platforms, shared parsing.
Result<client::Platform> PlatformFlag(const std::string& text);  // "" = host

// SIGINT/SIGTERM set the returned flag (transfers stop with CANCELLED and clean up); a second
// signal kills the process as usual.
const std::atomic<bool>* InstallCancelHandler();

// The image record `name` (normalised if it parses as a reference), or NOT_FOUND.
Result<client::ImageRecord> FindImage(client::ImageStore& images, const std::string& name);

}  // namespace berth::cli
