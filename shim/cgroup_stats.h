#pragma once
// Container metrics for the Stats RPC, read straight from cgroupfs (no runtime call), in
// containerd's formats: io.containerd.cgroups.v1.Metrics on cgroup v1 and hybrid hosts,
// io.containerd.cgroups.v2.Metrics on unified hosts. The container's cgroups are those of its
// init process (/proc/<pid>/cgroup), located through the mount table.
// Blocking reads of small pseudo-files; thread-compatible.

#include <sys/types.h>

#include <map>
#include <string>
#include <string_view>

#include <google/protobuf/any.pb.h>

#include "common/status.h"
#include "containerd/cgroups/stats/v1/metrics.pb.h"
#include "containerd/cgroups/v2/stats/metrics.pb.h"

namespace berth::shim {

enum class CgroupMode { kV1, kV2 };

// kV2 when `root` is a cgroup2 filesystem (unified), else kV1 (legacy or hybrid).
CgroupMode DetectCgroupMode(const std::string& root = "/sys/fs/cgroup");

// v1: controller name ("memory", "cpuacct", "name=systemd"...) -> directory of the process's
// cgroup, from the texts of /proc/self/mountinfo and /proc/<pid>/cgroup.
std::map<std::string, std::string> CgroupV1Dirs(std::string_view mountinfo,
                                                std::string_view proc_cgroup);
// v2: the directory of the process's cgroup ("0::/path" joined to the cgroup2 mount), or empty.
std::string CgroupV2Dir(std::string_view mountinfo, std::string_view proc_cgroup);

// Fill what the files under the given directories hold; missing files leave fields unset.
io::containerd::cgroups::v1::Metrics ReadV1Metrics(const std::map<std::string, std::string>& dirs);
io::containerd::cgroups::v2::Metrics ReadV2Metrics(const std::string& dir);

// Metrics of the cgroups of `pid`, packed as containerd expects (bare type URL). NOT_FOUND when
// the process is gone.
Result<google::protobuf::Any> ReadCgroupStats(pid_t pid);

// The directory of `pid`'s memory cgroup (v1 memory controller, or the v2 cgroup). NOT_FOUND
// when the process is gone or has none.
Result<std::string> MemoryCgroupDir(pid_t pid, CgroupMode mode);

}  // namespace berth::shim
