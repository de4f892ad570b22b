#include "supervisor/plugin_registry.h"

#include <algorithm>

namespace berth::supervisor {

namespace sv = berth::supervisor::v1;

void PluginRegistry::AddOwn(sv::Plugin plugin) { own_.push_back(std::move(plugin)); }

Status PluginRegistry::Register(const sv::RegisterPluginsRequest& request) {
  if (request.service().empty()) {
    return Status(Code::kInvalidArgument, "plugin registration names no service");
  }
  std::vector<sv::Plugin> plugins;
  for (sv::Plugin p : request.plugins()) {
    if (p.status().empty()) p.set_status("ok");
    if (p.type().empty() || p.id().empty()) {
      return Error(Code::kInvalidArgument, "plugin of service {} lacks a type or an id",
                   request.service());
    }
    if (p.status() != "ok" && p.status() != "error" && p.status() != "skip") {
      return Error(Code::kInvalidArgument, "plugin {}/{}: status \"{}\" is not ok, error or skip",
                   p.type(), p.id(), p.status());
    }
    p.set_service(request.service());
    plugins.push_back(std::move(p));
  }
  auto it = std::find_if(by_service_.begin(), by_service_.end(),
                         [&](const auto& entry) { return entry.first == request.service(); });
  if (it == by_service_.end()) {
    by_service_.emplace_back(request.service(), std::move(plugins));
  } else {
    it->second = std::move(plugins);
  }
  return Status::Ok();
}

std::vector<sv::Plugin> PluginRegistry::All() const {
  std::vector<sv::Plugin> out = own_;
  for (const auto& [service, plugins] : by_service_) {
    out.insert(out.end(), plugins.begin(), plugins.end());
  }
  return out;
}

void PluginFields::Values(const std::vector<std::string>& path,
                          std::vector<std::string_view>& out) const {
  if (path.size() != 1) return;
  const std::string& field = path[0];
  if (field == "type") out.push_back(plugin_.type());
  if (field == "id") out.push_back(plugin_.id());
  if (field == "status") out.push_back(plugin_.status());
  if (field == "service") out.push_back(plugin_.service());
  if (field == "error") out.push_back(plugin_.error());
  if (field == "platforms") {
    for (const std::string& p : plugin_.platforms()) out.push_back(p);
  }
}

}  // namespace berth::supervisor
