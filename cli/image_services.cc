#include "cli/image_services.h"

#include <signal.h>

#include <CLI/CLI.hpp>

#include "client/reference.h"

namespace berth::cli {
namespace {

std::atomic<bool> g_cancel{false};

void OnSignal(int sig) {
  g_cancel.store(true);
  ::signal(sig, SIG_DFL);  // the next one kills
}

content::ProxyOptions ContentOptions(const CliContext& context) {
  content::ProxyOptions o;
  o.ns = context.ns;
  return o;
}

snapshot::ProxyOptions SnapshotOptions(const CliContext& context) {
  snapshot::ProxyOptions o;
  o.ns = context.ns;
  return o;
}

}  // namespace

ImageServices::ImageServices(CliContext& context, const std::string& snapshotter)
    : content(context.ClientFor("content"), ContentOptions(context)),
      snapshots(context.ClientFor("snapshot"), snapshotter, SnapshotOptions(context)),
      differ(context.ClientFor("snapshot"), SnapshotOptions(context)),
      images(client::NewMetadataImageStore(context.ClientFor("metadata"), context.ns,
                                           std::chrono::seconds(60))) {}

void RegistryFlags::Add(CLI::App* command) {
  command->add_flag("--plain-http", plain_http, "talk plain HTTP to the registry");
  command->add_flag("--skip-verify", skip_verify,
                    "do not verify the registry's TLS certificate (tests only)");
  command
      ->add_option("--hosts-dir", hosts_dir,
                   "registry host configuration (<dir>/<host>/hosts.toml, containerd format)")
      ->capture_default_str();
  command->add_option("-u,--user", user, "registry credentials USER:PASSWORD");
  command->add_option("--docker-config", docker_config,
                      "docker config.json with registry credentials");
}

Result<client::RegistryOptions> RegistryFlags::Options(const std::atomic<bool>* cancel) {
  std::string path = docker_config.empty() ? client::CredentialStore::DefaultPath() : docker_config;
  BERTH_ASSIGN_OR_RETURN(credentials, client::CredentialStore::Load(path));
  client::RegistryOptions o;
  o.hosts.hosts_dir = hosts_dir;
  o.hosts.plain_http = plain_http;
  o.hosts.skip_verify = skip_verify;
  o.credentials = &credentials;
  o.cancel = cancel;
  if (!user.empty()) {
    BERTH_ASSIGN_OR_RETURN(o.user, client::ParseUserFlag(user));
  }
  return o;
}

Result<client::Platform> PlatformFlag(const std::string& text) {
  if (text.empty()) return client::HostPlatform();
  return client::ParsePlatform(text);
}

const std::atomic<bool>* InstallCancelHandler() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  return &g_cancel;
}

Result<client::ImageRecord> FindImage(client::ImageStore& images, const std::string& name) {
  std::string key = name;
  if (auto ref = client::ParseReference(name); ref.ok()) {
    BERTH_ASSIGN_OR_RETURN(auto found, images.Get(ref->String()));
    if (found) return *found;
  }
  BERTH_ASSIGN_OR_RETURN(auto found, images.Get(key));
  if (!found) return Error(Code::kNotFound, "image \"{}\" not found", name);
  return *found;
}

}  // namespace berth::cli
