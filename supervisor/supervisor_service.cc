#include "supervisor/supervisor_service.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "berth/version.h"

namespace berth::supervisor {

namespace sv = berth::supervisor::v1;

const char* BerthVersion() { return BERTH_VERSION; }
const char* BerthRevision() { return BERTH_REVISION; }

void SupervisorServer::Version(const google::protobuf::Empty&,
                               ipc::Reply<sv::VersionResponse> reply) {
  sv::VersionResponse response;
  response.set_version(BerthVersion());
  response.set_revision(BerthRevision());
  response.set_pid(static_cast<uint32_t>(::getpid()));
  response.mutable_started_at()->set_seconds(started_at_nanos_ / 1'000'000'000);
  response.mutable_started_at()->set_nanos(static_cast<int32_t>(started_at_nanos_ % 1'000'000'000));
  response.set_root(root_);
  response.set_state(state_);
  response.set_mode(services_.spawning() ? "embedded" : "systemd");
  reply.Ok(response);
}

void SupervisorServer::ListServices(const google::protobuf::Empty&,
                                    ipc::Reply<sv::ListServicesResponse> reply) {
  sv::ListServicesResponse response;
  for (auto& info : services_.List()) *response.add_services() = std::move(info);
  reply.Ok(response);
}

void SupervisorServer::ListPlugins(const sv::ListPluginsRequest& request,
                                   ipc::Reply<sv::ListPluginsResponse> reply) {
  std::vector<std::string> filters(request.filters().begin(), request.filters().end());
  Result<Filter> filter = Filter::Parse(filters, kPluginFilterFields);
  if (!filter.ok()) return reply.Fail(filter.status());
  sv::ListPluginsResponse response;
  for (sv::Plugin& plugin : plugins_.All()) {
    const ManagedService* service = services_.Find(plugin.service());
    if (service != nullptr && !service->up() && plugin.status() == "ok") {
      sv::ServiceInfo info = service->Info();
      plugin.set_status("error");
      plugin.set_error(fmt::format("service {} is {}{}{}", info.name(), info.state(),
                                   info.last_error().empty() ? "" : ": ", info.last_error()));
    }
    if (filter->Match(PluginFields(plugin))) *response.add_plugins() = std::move(plugin);
  }
  reply.Ok(response);
}

void SupervisorServer::RegisterPlugins(const sv::RegisterPluginsRequest& request,
                                       ipc::Reply<google::protobuf::Empty> reply) {
  berth::Status registered = plugins_.Register(request);
  if (!registered.ok()) return reply.Fail(registered);
  spdlog::debug("plugins registered service={} count={}", request.service(),
                request.plugins_size());
  reply.Ok(google::protobuf::Empty());
}

void SupervisorServer::Health(const google::protobuf::Empty&,
                              ipc::Reply<sv::HealthResponse> reply) {
  sv::HealthResponse response;
  if (stopping_) {
    response.set_status("stopping");
  } else if (services_.AllUp()) {
    response.set_status("serving");
  } else {
    response.set_status(ready_ ? "degraded" : "starting");
  }
  for (auto& info : services_.List()) *response.add_services() = std::move(info);
  reply.Ok(response);
}

}  // namespace berth::supervisor
