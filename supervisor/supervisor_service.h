#pragma once
// berth.supervisor.v1.Supervisor on the wire: version, services, plugins, health.
//
// ListPlugins shows a service's plugins with status "error" ("service content is backoff: ...")
// while that service is not up, so `plugins ls` never claims a plugin works whose process is
// down. Filters (containerd syntax, see filter.h) may use type, id, status, service, platforms,
// error; a bad filter is INVALID_ARGUMENT.
// Health's status: "serving" when every configured service that is not missing is up,
// "starting" before that first happened, "degraded" after, "stopping" during shutdown.
//
// Thread-safety: loop thread, as the server calls it.

#include <cstdint>
#include <string>

#include "berth/supervisor/v1/supervisor.berth.h"
#include "supervisor/plugin_registry.h"
#include "supervisor/service_manager.h"

namespace berth::supervisor {

class SupervisorServer : public supervisor::v1::SupervisorService {
 public:
  SupervisorServer(ServiceManager& services, PluginRegistry& plugins, int64_t started_at_nanos)
      : services_(services), plugins_(plugins), started_at_nanos_(started_at_nanos) {}

  void Version(const google::protobuf::Empty& request,
               ipc::Reply<supervisor::v1::VersionResponse> reply) override;
  void ListServices(const google::protobuf::Empty& request,
                    ipc::Reply<supervisor::v1::ListServicesResponse> reply) override;
  void ListPlugins(const supervisor::v1::ListPluginsRequest& request,
                   ipc::Reply<supervisor::v1::ListPluginsResponse> reply) override;
  void RegisterPlugins(const supervisor::v1::RegisterPluginsRequest& request,
                       ipc::Reply<google::protobuf::Empty> reply) override;
  void Health(const google::protobuf::Empty& request,
              ipc::Reply<supervisor::v1::HealthResponse> reply) override;

  // Daemon lifecycle, reflected by Health.
  void SetReady() { ready_ = true; }
  void SetStopping() { stopping_ = true; }
  // Reported by Version (berthctl info).
  void SetPaths(std::string root, std::string state) {
    root_ = std::move(root);
    state_ = std::move(state);
  }

 private:
  ServiceManager& services_;
  PluginRegistry& plugins_;
  int64_t started_at_nanos_;
  bool ready_ = false;
  bool stopping_ = false;
  std::string root_, state_;
};

// berthd's version and the source revision it was built from.
const char* BerthVersion();
const char* BerthRevision();

}  // namespace berth::supervisor
