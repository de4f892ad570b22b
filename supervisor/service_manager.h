#pragma once
// ServiceManager: the configured services as a group — started together (in config order),
// stopped one after another in reverse order, listed for `berthctl services ls`.
//
// Thread-safety: loop-thread object.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "berth/supervisor/v1/supervisor.pb.h"
#include "common/config.h"
#include "ipc/event_loop.h"
#include "supervisor/managed_service.h"

namespace berth::supervisor {

struct ManagerOptions {
  Config config;              // services, mode (spawn), backoff, root/state/log level
  std::string self_dir;       // where berth-<name> binaries are looked up by default
  std::string berthd_socket;  // passed to every service as --berthd
  RestartPolicy policy;       // backoff from the config; timeouts
};

// The spec of one configured service: its binary, command line, socket and pid file.
ServiceSpec MakeServiceSpec(const ManagerOptions& options, const Config::Service& service);

class ServiceManager {
 public:
  ServiceManager(ipc::EventLoop& loop, ManagerOptions options);
  ~ServiceManager();

  // Starts (or adopts) every service. `on_all_up` runs once, the first time every service that
  // is not missing is up (at once when there is none; in systemd mode at once).
  void Start(std::function<void()> on_all_up);
  // Stops the services in reverse config order, each after the previous one is gone.
  void StopAll(std::function<void()> done);

  std::vector<supervisor::v1::ServiceInfo> List() const;
  // nullptr when no configured service has that name.
  const ManagedService* Find(const std::string& name) const;
  // Every service that is not missing is up.
  bool AllUp() const;
  bool spawning() const { return options_.config.services.spawn; }

 private:
  void OnChange();
  void StopFrom(size_t remaining, std::function<void()> done);

  ipc::EventLoop& loop_;
  ManagerOptions options_;
  std::vector<std::unique_ptr<ManagedService>> services_;
  std::function<void()> on_all_up_;
  bool starting_ = false;
};

}  // namespace berth::supervisor
