#include "client/spec/validate.h"

#include <regex>
#include <set>

namespace berth::spec {

using json = nlohmann::json;

namespace {

Status Bad(const std::string& path, const std::string& what) {
  return Status(Code::kInvalidArgument, path + ": " + what);
}

// The member `key` of `obj`, or nullptr; FAILS when present with the wrong type.
Status Field(const json& obj, const std::string& path, const char* key, json::value_t type,
             bool required, const json** out) {
  *out = nullptr;
  auto it = obj.find(key);
  std::string where = path.empty() ? key : path + "." + key;
  if (it == obj.end() || it->is_null()) return required ? Bad(where, "required") : Status::Ok();
  bool ok = it->type() == type ||
            (type == json::value_t::number_integer && it->is_number_unsigned()) ||
            (type == json::value_t::number_unsigned && it->is_number_integer() && *it >= 0);
  if (!ok) return Bad(where, std::string("must be a ") + json(type).type_name());
  *out = &*it;
  return Status::Ok();
}

Status StringArray(const json& obj, const std::string& path, const char* key, bool absolute) {
  const json* arr = nullptr;
  BERTH_RETURN_IF_ERROR(Field(obj, path, key, json::value_t::array, false, &arr));
  if (!arr) return Status::Ok();
  for (size_t i = 0; i < arr->size(); ++i) {
    std::string where = path + "." + key + "[" + std::to_string(i) + "]";
    if (!(*arr)[i].is_string()) return Bad(where, "must be a string");
    if (absolute && (*arr)[i].get<std::string>().rfind('/', 0) != 0) {
      return Bad(where, "must be an absolute path");
    }
  }
  return Status::Ok();
}

Status CheckProcess(const json& p) {
  const json* f = nullptr;
  BERTH_RETURN_IF_ERROR(Field(p, "process", "cwd", json::value_t::string, true, &f));
  if (f->get<std::string>().rfind('/', 0) != 0) return Bad("process.cwd", "must be absolute");
  BERTH_RETURN_IF_ERROR(Field(p, "process", "args", json::value_t::array, true, &f));
  if (f->empty()) return Bad("process.args", "must name a program");
  BERTH_RETURN_IF_ERROR(StringArray(p, "process", "args", false));
  BERTH_RETURN_IF_ERROR(StringArray(p, "process", "env", false));
  for (const auto& e : p.value("env", json::array())) {
    if (e.get<std::string>().find('=') == std::string::npos) return Bad("process.env", "KEY=VALUE");
  }
  const json* user = nullptr;
  BERTH_RETURN_IF_ERROR(Field(p, "process", "user", json::value_t::object, true, &user));
  BERTH_RETURN_IF_ERROR(
      Field(*user, "process.user", "uid", json::value_t::number_unsigned, true, &f));
  BERTH_RETURN_IF_ERROR(
      Field(*user, "process.user", "gid", json::value_t::number_unsigned, true, &f));
  BERTH_RETURN_IF_ERROR(Field(p, "process", "terminal", json::value_t::boolean, false, &f));
  BERTH_RETURN_IF_ERROR(Field(p, "process", "noNewPrivileges", json::value_t::boolean, false, &f));
  const json* caps = nullptr;
  BERTH_RETURN_IF_ERROR(Field(p, "process", "capabilities", json::value_t::object, false, &caps));
  if (caps) {
    for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"}) {
      BERTH_RETURN_IF_ERROR(StringArray(*caps, "process.capabilities", set, false));
      for (const auto& c : caps->value(set, json::array())) {
        if (c.get<std::string>().rfind("CAP_", 0) != 0) {
          return Bad(std::string("process.capabilities.") + set, "names must start with CAP_");
        }
      }
    }
  }
  const json* rlimits = nullptr;
  BERTH_RETURN_IF_ERROR(Field(p, "process", "rlimits", json::value_t::array, false, &rlimits));
  std::set<std::string> seen;
  for (size_t i = 0; rlimits && i < rlimits->size(); ++i) {
    std::string where = "process.rlimits[" + std::to_string(i) + "]";
    const json& r = (*rlimits)[i];
    if (!r.is_object()) return Bad(where, "must be an object");
    BERTH_RETURN_IF_ERROR(Field(r, where, "type", json::value_t::string, true, &f));
    if (f->get<std::string>().rfind("RLIMIT_", 0) != 0 || !seen.insert(*f).second) {
      return Bad(where + ".type", "must be a unique RLIMIT_* name");
    }
    BERTH_RETURN_IF_ERROR(Field(r, where, "soft", json::value_t::number_unsigned, true, &f));
    BERTH_RETURN_IF_ERROR(Field(r, where, "hard", json::value_t::number_unsigned, true, &f));
  }
  return Status::Ok();
}

Status CheckMounts(const json& spec) {
  const json* mounts = nullptr;
  BERTH_RETURN_IF_ERROR(Field(spec, "", "mounts", json::value_t::array, false, &mounts));
  for (size_t i = 0; mounts && i < mounts->size(); ++i) {
    std::string where = "mounts[" + std::to_string(i) + "]";
    const json& m = (*mounts)[i];
    if (!m.is_object()) return Bad(where, "must be an object");
    const json* f = nullptr;
    BERTH_RETURN_IF_ERROR(Field(m, where, "destination", json::value_t::string, true, &f));
    if (f->get<std::string>().rfind('/', 0) != 0)
      return Bad(where + ".destination", "must be absolute");
    BERTH_RETURN_IF_ERROR(Field(m, where, "source", json::value_t::string, false, &f));
    BERTH_RETURN_IF_ERROR(Field(m, where, "type", json::value_t::string, false, &f));
    BERTH_RETURN_IF_ERROR(StringArray(m, where, "options", false));
  }
  return Status::Ok();
}

Status CheckLinux(const json& linux, bool* has_uts) {
  static const std::set<std::string> kTypes = {"pid", "network", "mount",  "ipc",
                                               "uts", "user",    "cgroup", "time"};
  const json* f = nullptr;
  const json* namespaces = nullptr;
  BERTH_RETURN_IF_ERROR(
      Field(linux, "linux", "namespaces", json::value_t::array, false, &namespaces));
  std::set<std::string> seen;
  for (size_t i = 0; namespaces && i < namespaces->size(); ++i) {
    std::string where = "linux.namespaces[" + std::to_string(i) + "]";
    if (!(*namespaces)[i].is_object()) return Bad(where, "must be an object");
    BERTH_RETURN_IF_ERROR(Field((*namespaces)[i], where, "type", json::value_t::string, true, &f));
    std::string type = *f;
    if (!kTypes.count(type)) return Bad(where + ".type", "unknown namespace " + type);
    if (!seen.insert(type).second) return Bad(where + ".type", "duplicate namespace " + type);
    BERTH_RETURN_IF_ERROR(Field((*namespaces)[i], where, "path", json::value_t::string, false, &f));
    if (type == "uts" && !f) *has_uts = true;
  }
  BERTH_RETURN_IF_ERROR(StringArray(linux, "linux", "maskedPaths", true));
  BERTH_RETURN_IF_ERROR(StringArray(linux, "linux", "readonlyPaths", true));
  BERTH_RETURN_IF_ERROR(Field(linux, "linux", "cgroupsPath", json::value_t::string, false, &f));
  const json* resources = nullptr;
  BERTH_RETURN_IF_ERROR(
      Field(linux, "linux", "resources", json::value_t::object, false, &resources));
  const json* devices = nullptr;
  if (resources) {
    BERTH_RETURN_IF_ERROR(
        Field(*resources, "linux.resources", "devices", json::value_t::array, false, &devices));
  }
  for (size_t i = 0; devices && i < devices->size(); ++i) {
    std::string where = "linux.resources.devices[" + std::to_string(i) + "]";
    BERTH_RETURN_IF_ERROR(Field((*devices)[i], where, "allow", json::value_t::boolean, true, &f));
    BERTH_RETURN_IF_ERROR(Field((*devices)[i], where, "access", json::value_t::string, false, &f));
    if (f && f->get<std::string>().find_first_not_of("rwm") != std::string::npos) {
      return Bad(where + ".access", "must use only r, w and m");
    }
  }
  const json* nodes = nullptr;
  BERTH_RETURN_IF_ERROR(Field(linux, "linux", "devices", json::value_t::array, false, &nodes));
  for (size_t i = 0; nodes && i < nodes->size(); ++i) {
    std::string where = "linux.devices[" + std::to_string(i) + "]";
    BERTH_RETURN_IF_ERROR(Field((*nodes)[i], where, "path", json::value_t::string, true, &f));
    BERTH_RETURN_IF_ERROR(Field((*nodes)[i], where, "type", json::value_t::string, true, &f));
    std::string type = *f;
    if (type != "c" && type != "b" && type != "u" && type != "p")
      return Bad(where + ".type", "c, b, u or p");
    bool needs_numbers = type != "p";
    BERTH_RETURN_IF_ERROR(
        Field((*nodes)[i], where, "major", json::value_t::number_integer, needs_numbers, &f));
    BERTH_RETURN_IF_ERROR(
        Field((*nodes)[i], where, "minor", json::value_t::number_integer, needs_numbers, &f));
  }
  return Status::Ok();
}

}  // namespace

Status ValidateSpec(const json& spec) {
  if (!spec.is_object()) return Bad("(document)", "must be a JSON object");
  const json* f = nullptr;
  BERTH_RETURN_IF_ERROR(Field(spec, "", "ociVersion", json::value_t::string, true, &f));
  static const std::regex kSemver(
      R"(^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$)");
  if (!std::regex_match(f->get<std::string>(), kSemver)) return Bad("ociVersion", "must be SemVer");
  const json* root = nullptr;
  BERTH_RETURN_IF_ERROR(Field(spec, "", "root", json::value_t::object, true, &root));
  BERTH_RETURN_IF_ERROR(Field(*root, "root", "path", json::value_t::string, true, &f));
  if (f->get<std::string>().empty()) return Bad("root.path", "must not be empty");
  BERTH_RETURN_IF_ERROR(Field(*root, "root", "readonly", json::value_t::boolean, false, &f));
  const json* process = nullptr;
  BERTH_RETURN_IF_ERROR(Field(spec, "", "process", json::value_t::object, false, &process));
  if (process) BERTH_RETURN_IF_ERROR(CheckProcess(*process));
  BERTH_RETURN_IF_ERROR(CheckMounts(spec));
  const json* linux = nullptr;
  BERTH_RETURN_IF_ERROR(Field(spec, "", "linux", json::value_t::object, true, &linux));
  bool has_uts = false;
  BERTH_RETURN_IF_ERROR(CheckLinux(*linux, &has_uts));
  const json* hostname = nullptr;
  BERTH_RETURN_IF_ERROR(Field(spec, "", "hostname", json::value_t::string, false, &hostname));
  if (hostname && !hostname->get<std::string>().empty() && !has_uts) {
    return Bad("hostname", "needs a new uts namespace");
  }
  return Status::Ok();
}

}  // namespace berth::spec
