#include "shim/bundle_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/fs.h"

namespace berth::shim {
namespace {

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

}  // namespace

Status WriteFileNoSync(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return ErrnoStatus(errno, "create " + tmp);
  Status s = WriteAll(fd.get(), data, tmp);
  if (s.ok() && ::fchmod(fd.get(), mode) != 0) s = ErrnoStatus(errno, "chmod " + tmp);
  fd.reset();
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoStatus(errno, "rename " + path);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Result<pid_t> ReadPidFile(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  pid_t pid = 0;
  if (!ParseNumber(text, &pid) || pid <= 0) {
    return Error(Code::kInvalidArgument, "pid file {} holds \"{}\", not a pid", path,
                 text.substr(0, 32));
  }
  return pid;
}

Status WriteExitRecord(const std::string& bundle, const ExitRecord& record) {
  return WriteFileNoSync(bundle + "/" + kInitExitFile,
                         fmt::format("{} {}\n", record.status, record.exited_at_ns), 0600);
}

std::optional<ExitRecord> ReadExitRecord(const std::string& bundle) {
  auto text = ReadFile(bundle + "/" + kInitExitFile);
  if (!text.ok()) return std::nullopt;
  std::string_view view = *text;
  size_t space = view.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  ExitRecord record;
  if (!ParseNumber(view.substr(0, space), &record.status) ||
      !ParseNumber(view.substr(space + 1), &record.exited_at_ns)) {
    return std::nullopt;
  }
  return record;
}

bool HasOwnPidNamespace(const std::string& bundle) {
  auto text = ReadFile(bundle + "/config.json");
  if (!text.ok()) return true;
  auto spec = nlohmann::json::parse(*text, nullptr, false);
  if (!spec.is_object()) return true;
  auto string_at = [](const nlohmann::json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto linux_section = spec.find("linux");
  if (linux_section == spec.end() || !linux_section->is_object()) return false;
  auto namespaces = linux_section->find("namespaces");
  if (namespaces == linux_section->end() || !namespaces->is_array()) return false;
  for (const auto& ns : *namespaces) {
    if (ns.is_object() && string_at(ns, "type") == "pid") return string_at(ns, "path").empty();
  }
  return false;
}

Status WriteRuntimeRecord(const std::string& bundle, const RuntimeConfig& config) {
  return WriteFileNoSync(bundle + "/" + kRuntimeFile,
                         fmt::format("binary={}\nroot={}\nsystemd_cgroup={}\n", config.binary,
                                     config.root, config.systemd_cgroup ? 1 : 0),
                         0600);
}

std::optional<RuntimeConfig> ReadRuntimeRecord(const std::string& bundle) {
  auto text = ReadFile(bundle + "/" + kRuntimeFile);
  if (!text.ok()) return std::nullopt;
  RuntimeConfig config;
  std::string_view view = *text;
  while (!view.empty()) {
    size_t nl = view.find('\n');
    std::string_view line = view.substr(0, nl);
    view.remove_prefix(nl == std::string_view::npos ? view.size() : nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "binary") config.binary = std::string(value);
    if (key == "root") config.root = std::string(value);
    if (key == "systemd_cgroup") config.systemd_cgroup = value == "1";
  }
  if (config.binary.empty()) return std::nullopt;
  return config;
}

}  // namespace berth::shim
