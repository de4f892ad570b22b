// Locating a process's cgroups: /proc/<pid>/cgroup joined with the mount table.
#include <sys/statfs.h>

#include <linux/magic.h>

#include <vector>

#include "common/fs.h"
#include "shim/cgroup_stats.h"

namespace berth::shim {
namespace {

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t pos = s.find(sep);
    out.push_back(s.substr(0, pos));
    if (pos == std::string_view::npos) return out;
    s.remove_prefix(pos + 1);
  }
}

struct CgroupMount {
  std::string_view root;  // the hierarchy path mounted there ("/" normally)
  std::string_view mount_point;
  std::string_view fs_type;  // "cgroup" or "cgroup2"
  std::string_view super_options;
};

// Calls fn for each cgroup mount. mountinfo: "id parent maj:min root mountpoint opts ... - type
// source superopts". Paths with escaped spaces are not expected for cgroupfs.
template <typename Fn>
void ForEachCgroupMount(std::string_view mountinfo, Fn fn) {
  for (std::string_view line : Split(mountinfo, '\n')) {
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    auto head = Split(line.substr(0, dash), ' ');
    auto tail = Split(line.substr(dash + 3), ' ');
    if (head.size() < 5 || tail.size() < 3) continue;
    if (tail[0] != "cgroup" && tail[0] != "cgroup2") continue;
    fn(CgroupMount{head[3], head[4], tail[0], tail[2]});
  }
}

std::string Join(std::string_view mount_point, std::string_view root, std::string_view path) {
  if (root != "/" && path.substr(0, root.size()) == root) path.remove_prefix(root.size());
  std::string dir(mount_point);
  if (!path.empty() && path != "/") {
    if (path.front() != '/') dir += '/';
    dir += path;
  }
  return dir;
}

}  // namespace

CgroupMode DetectCgroupMode(const std::string& root) {
  struct statfs fs;
  if (::statfs(root.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) return CgroupMode::kV2;
  return CgroupMode::kV1;
}

std::map<std::string, std::string> CgroupV1Dirs(std::string_view mountinfo,
                                                std::string_view proc_cgroup) {
  // controller -> path, from "hierarchy-id:controller,controller:path" lines.
  std::map<std::string, std::string_view, std::less<>> paths;
  for (std::string_view line : Split(proc_cgroup, '\n')) {
    auto parts = Split(line, ':');
    if (parts.size() < 3 || parts[1].empty()) continue;
    std::string_view path = line.substr(parts[0].size() + parts[1].size() + 2);
    for (std::string_view c : Split(parts[1], ',')) paths[std::string(c)] = path;
  }
  std::map<std::string, std::string> dirs;
  ForEachCgroupMount(mountinfo, [&](const CgroupMount& m) {
    if (m.fs_type != "cgroup") return;
    for (std::string_view option : Split(m.super_options, ',')) {
      auto it = paths.find(option);
      if (it != paths.end() && !dirs.count(it->first)) {
        dirs[it->first] = Join(m.mount_point, m.root, it->second);
      }
    }
  });
  return dirs;
}

std::string CgroupV2Dir(std::string_view mountinfo, std::string_view proc_cgroup) {
  std::string_view path;
  bool found = false;
  for (std::string_view line : Split(proc_cgroup, '\n')) {
    if (line.substr(0, 3) == "0::") {
      path = line.substr(3);
      found = true;
    }
  }
  if (!found) return {};
  std::string dir;
  ForEachCgroupMount(mountinfo, [&](const CgroupMount& m) {
    if (m.fs_type == "cgroup2" && dir.empty()) dir = Join(m.mount_point, m.root, path);
  });
  return dir;
}

Result<std::string> MemoryCgroupDir(pid_t pid, CgroupMode mode) {
  BERTH_ASSIGN_OR_RETURN(std::string mountinfo, ReadFile("/proc/self/mountinfo"));
  auto cgroup = ReadFile("/proc/" + std::to_string(pid) + "/cgroup");
  if (!cgroup.ok()) return Error(Code::kNotFound, "process {} is gone", pid);
  if (mode == CgroupMode::kV2) {
    std::string dir = CgroupV2Dir(mountinfo, *cgroup);
    if (dir.empty()) return Error(Code::kNotFound, "process {} has no cgroup v2", pid);
    return dir;
  }
  auto dirs = CgroupV1Dirs(mountinfo, *cgroup);
  auto it = dirs.find("memory");
  if (it == dirs.end()) return Error(Code::kNotFound, "process {} has no memory cgroup", pid);
  return it->second;
}

Result<google::protobuf::Any> ReadCgroupStats(pid_t pid) {
  BERTH_ASSIGN_OR_RETURN(std::string mountinfo, ReadFile("/proc/self/mountinfo"));
  auto cgroup = ReadFile("/proc/" + std::to_string(pid) + "/cgroup");
  if (!cgroup.ok()) return Error(Code::kNotFound, "process {} is gone", pid);
  google::protobuf::Any any;
  if (DetectCgroupMode() == CgroupMode::kV2) {
    any.set_type_url("io.containerd.cgroups.v2.Metrics");
    ReadV2Metrics(CgroupV2Dir(mountinfo, *cgroup)).SerializeToString(any.mutable_value());
  } else {
    any.set_type_url("io.containerd.cgroups.v1.Metrics");
    ReadV1Metrics(CgroupV1Dirs(mountinfo, *cgroup)).SerializeToString(any.mutable_value());
  }
  return any;
}

}  // namespace berth::shim
