#pragma once
// PluginRegistry: the plugins berthd and its services provide, for `berthctl plugins ls`.
//
// Services register their whole set when they start (and re-register periodically, since this
// registry is in memory and a restarted berthd starts empty); a registration replaces the
// service's previous set. berthd's own plugins are listed first, then each service's in
// registration order.
//
// Thread-safety: loop-thread object.

#include <string>
#include <vector>

#include "berth/supervisor/v1/supervisor.pb.h"
#include "common/status.h"
#include "supervisor/filter.h"

namespace berth::supervisor {

class PluginRegistry {
 public:
  // Adds a plugin berthd itself provides.
  void AddOwn(supervisor::v1::Plugin plugin);
  // Replaces the plugins of request.service(). INVALID_ARGUMENT when the service name is empty,
  // a plugin lacks type or id, or a status is not ok/error/skip (empty means ok).
  Status Register(const supervisor::v1::RegisterPluginsRequest& request);
  // Every plugin, in listing order.
  std::vector<supervisor::v1::Plugin> All() const;

 private:
  std::vector<supervisor::v1::Plugin> own_;
  std::vector<std::pair<std::string, std::vector<supervisor::v1::Plugin>>> by_service_;
};

// The fields a plugin filter may use: type, id, status, service, platforms, error.
class PluginFields : public FieldSource {
 public:
  explicit PluginFields(const supervisor::v1::Plugin& plugin) : plugin_(plugin) {}
  void Values(const std::vector<std::string>& path,
              std::vector<std::string_view>& out) const override;

 private:
  const supervisor::v1::Plugin& plugin_;
};
inline const std::vector<std::string> kPluginFilterFields = {"type",    "id",        "status",
                                                             "service", "platforms", "error"};

}  // namespace berth::supervisor
