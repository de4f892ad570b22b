#include "client/spec/spec.h"

#include <unistd.h>

#include <cmath>

#include "client/spec/defaults.h"
#include "client/spec/user.h"

namespace berth::spec {

using json = nlohmann::json;

namespace {

// A string array of the image config, or empty.
std::vector<std::string> StringList(const json& config, const char* key) {
  std::vector<std::string> out;
  auto it = config.find(key);
  if (it == config.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::string StringField(const json& config, const char* key) {
  auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Appends KEY=VALUE entries, a later KEY replacing the earlier one in place.
void MergeEnv(std::vector<std::string>& env, const std::vector<std::string>& more) {
  for (const auto& entry : more) {
    std::string key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (auto& existing : env) {
      if (existing.substr(0, existing.find('=')) == key) {
        existing = entry;
        replaced = true;
        break;
      }
    }
    if (!replaced) env.push_back(entry);
  }
}

bool HasKey(const std::vector<std::string>& env, const std::string& key) {
  for (const auto& e : env) {
    if (e.substr(0, e.find('=')) == key) return true;
  }
  return false;
}

Result<json> BuildProcess(const json& config, const SpecOptions& o, const RootfsFiles& files) {
  std::vector<std::string> args = o.entrypoint ? *o.entrypoint : StringList(config, "Entrypoint");
  std::vector<std::string> cmd = o.args.empty() ? StringList(config, "Cmd") : o.args;
  if (o.entrypoint && o.args.empty()) cmd.clear();  // a new entrypoint drops the image's Cmd
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty()) {
    return Error(Code::kInvalidArgument,
                 "no command to run: the image has no Entrypoint or Cmd; give one after the id");
  }
  std::vector<std::string> env = StringList(config, "Env");
  if (!HasKey(env, "PATH")) {
    std::string path = "PATH=";
    path.append(kDefaultPath);
    env.insert(env.begin(), std::move(path));
  }
  if (o.terminal && !HasKey(env, "TERM")) env.push_back("TERM=xterm");
  MergeEnv(env, o.env);
  for (const auto& e : o.env) {
    if (e.empty() || e.front() == '=')
      return Error(Code::kInvalidArgument, "--env {:?}: no name", e);
  }
  std::string cwd = o.cwd ? *o.cwd : StringField(config, "WorkingDir");
  if (cwd.empty()) cwd.assign(1, '/');
  if (cwd.front() != '/') {
    return Error(Code::kInvalidArgument, "working directory {:?} is not an absolute path", cwd);
  }
  std::string user_text = o.user ? *o.user : StringField(config, "User");
  auto user = ResolveUser(user_text, files);
  if (!user.ok()) return user.status();
  auto caps = o.privileged ? AllCapabilities() : DefaultCapabilities();
  json process = {
      {"terminal", o.terminal},
      {"user", {{"uid", user->uid}, {"gid", user->gid}}},
      {"args", args},
      {"env", env},
      {"cwd", cwd},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", !o.privileged},
  };
  if (!user->additional_gids.empty()) process["user"]["additionalGids"] = user->additional_gids;
  return process;
}

Result<json> BuildMounts(const SpecOptions& o) {
  json mounts = DefaultMounts();
  if (o.privileged) {
    for (auto& m : mounts) {
      if (m["destination"] == "/sys") m["options"] = {"nosuid", "noexec", "nodev"};
    }
  }
  if (o.net == NetworkMode::kHost) {
    for (const char* file : {"/etc/hosts", "/etc/resolv.conf"}) {
      if (::access(file, F_OK) != 0) continue;
      mounts.push_back({{"destination", file},
                        {"type", "bind"},
                        {"source", file},
                        {"options", {"rbind", "ro"}}});
    }
  }
  for (const auto& m : o.mounts) {
    if (m.destination.empty() || m.destination.front() != '/') {
      return Error(Code::kInvalidArgument, "--mount: destination {:?} is not an absolute path",
                   m.destination);
    }
    if (m.type == "bind" && (m.source.empty() || m.source.front() != '/')) {
      return Error(Code::kInvalidArgument, "--mount: bind source {:?} is not an absolute path",
                   m.source);
    }
    std::vector<std::string> options = m.options;
    if (m.type == "bind" && options.empty()) options = {"rbind", "rw"};
    mounts.push_back({{"destination", m.destination},
                      {"type", m.type},
                      {"source", m.source},
                      {"options", options}});
  }
  return mounts;
}

Result<json> BuildResources(const SpecOptions& o) {
  json resources = {{"devices", json::array({{{"allow", o.privileged}, {"access", "rwm"}}})}};
  if (o.memory_limit) {
    if (*o.memory_limit <= 0) return Error(Code::kInvalidArgument, "--memory-limit must be > 0");
    resources["memory"] = {{"limit", *o.memory_limit}};
  }
  if (o.cpus) {
    if (!(*o.cpus > 0) || *o.cpus > 1e6) {
      return Error(Code::kInvalidArgument, "--cpus {} must be a positive number", *o.cpus);
    }
    constexpr int64_t kPeriod = 100000;
    resources["cpu"] = {{"period", kPeriod},
                        {"quota", static_cast<int64_t>(std::llround(*o.cpus * kPeriod))}};
  }
  return resources;
}

json BuildLinux(const SpecOptions& o, json resources) {
  json namespaces = json::array();
  for (const char* type : {"pid", "ipc", "uts", "mount", "network"}) {
    if (std::string(type) == "network" && o.net == NetworkMode::kHost) continue;
    namespaces.push_back({{"type", type}});
  }
  json linux = {{"namespaces", namespaces},
                {"resources", std::move(resources)},
                {"cgroupsPath", o.cgroup_parent + "/" + o.ns + "/" + o.id}};
  if (o.privileged) {
    linux["devices"] = HostDevices();
  } else {
    linux["maskedPaths"] = DefaultMaskedPaths();
    linux["readonlyPaths"] = DefaultReadonlyPaths();
  }
  return linux;
}

std::string HostName() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

}  // namespace

Result<json> GenerateSpec(const json& image_config, const SpecOptions& options,
                          const RootfsFiles& files) {
  if (options.id.empty()) return Error(Code::kInvalidArgument, "a container id is required");
  static const json kEmpty = json::object();
  const json* config = &kEmpty;
  if (image_config.is_object()) {
    auto it = image_config.find("config");
    if (it != image_config.end() && it->is_object()) config = &*it;
  }
  BERTH_ASSIGN_OR_RETURN(json process, BuildProcess(*config, options, files));
  BERTH_ASSIGN_OR_RETURN(json mounts, BuildMounts(options));
  BERTH_ASSIGN_OR_RETURN(json resources, BuildResources(options));
  std::string hostname = options.hostname                    ? *options.hostname
                         : options.net == NetworkMode::kHost ? HostName()
                                                             : options.id;
  return json{{"ociVersion", kOciVersion},
              {"process", std::move(process)},
              {"root", {{"path", "rootfs"}, {"readonly", options.read_only}}},
              {"hostname", hostname},
              {"mounts", std::move(mounts)},
              {"linux", BuildLinux(options, std::move(resources))}};
}

}  // namespace berth::spec
