#include "supervisor/service_manager.h"

#include <spdlog/spdlog.h>

namespace berth::supervisor {

ServiceSpec MakeServiceSpec(const ManagerOptions& options, const Config::Service& service) {
  const Config& c = options.config;
  ServiceSpec spec;
  spec.name = service.name;
  spec.binary = ServiceBinaryPath(service, options.self_dir);
  spec.socket = c.state + "/" + service.name + ".sock";
  spec.pid_file = c.state + "/services/" + service.name + ".pid";
  spec.argv = {spec.binary,   "--root",   c.root,
               "--state",     c.state,    "--socket",
               spec.socket,   "--berthd", options.berthd_socket,
               "--log-level", c.log_level};
  // Settings of one service's own section of the config file.
  if (service.name == "content") {
    spec.argv.push_back("--ingest-expiry");
    spec.argv.push_back(std::to_string(c.content.ingest_expiry_hours) + "h");
  }
  if (service.name == "runtime") {
    spec.argv.push_back("--log-max-size");
    spec.argv.push_back(std::to_string(c.runtime.log_max_size));
    spec.argv.push_back("--log-max-files");
    spec.argv.push_back(std::to_string(c.runtime.log_max_files));
  }
  spec.privileges = PrivilegesFor(service.name, c.root, spec.socket);
  return spec;
}

ServiceManager::ServiceManager(ipc::EventLoop& loop, ManagerOptions options)
    : loop_(loop), options_(std::move(options)) {
  bool external = !options_.config.services.spawn;
  for (const Config::Service& service : options_.config.services.list) {
    services_.push_back(std::make_unique<ManagedService>(loop_, MakeServiceSpec(options_, service),
                                                         options_.policy, external,
                                                         [this] { OnChange(); }));
  }
}

ServiceManager::~ServiceManager() = default;

void ServiceManager::Start(std::function<void()> on_all_up) {
  on_all_up_ = std::move(on_all_up);
  starting_ = true;
  for (auto& service : services_) service->Start();
  starting_ = false;
  if (!options_.config.services.spawn) {
    // systemd mode: the services start after berthd (they depend on it), so do not wait.
    if (auto ready = std::move(on_all_up_)) ready();
    return;
  }
  OnChange();
}

void ServiceManager::OnChange() {
  if (starting_ || !on_all_up_ || !AllUp()) return;
  auto ready = std::move(on_all_up_);
  on_all_up_ = nullptr;
  ready();
}

bool ServiceManager::AllUp() const {
  for (auto& service : services_) {
    if (service->state() == ServiceState::kMissing) continue;
    if (!service->up()) return false;
  }
  return true;
}

void ServiceManager::StopAll(std::function<void()> done) {
  on_all_up_ = nullptr;
  StopFrom(services_.size(), std::move(done));
}

void ServiceManager::StopFrom(size_t remaining, std::function<void()> done) {
  if (remaining == 0) {
    done();
    return;
  }
  ManagedService& service = *services_[remaining - 1];
  service.Stop([this, remaining, done = std::move(done)]() mutable {
    // Continue from the loop, not from inside the service's callback.
    loop_.Post([this, remaining, done = std::move(done)]() mutable {
      StopFrom(remaining - 1, std::move(done));
    });
  });
}

std::vector<supervisor::v1::ServiceInfo> ServiceManager::List() const {
  std::vector<supervisor::v1::ServiceInfo> out;
  out.reserve(services_.size());
  for (auto& service : services_) out.push_back(service->Info());
  return out;
}

const ManagedService* ServiceManager::Find(const std::string& name) const {
  for (auto& service : services_) {
    if (service->name() == name) return service.get();
  }
  return nullptr;
}

}  // namespace berth::supervisor
