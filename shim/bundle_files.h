#pragma once
// Files the shim keeps in the bundle so that `berth-shim delete` can clean up without the daemon
// and report the right exit status even after the shim itself crashed:
//   address     the ttrpc address `start` printed (containerd reads it after a restart)
//   init.pid    the container init's pid (written by the runtime: --pid-file)
//   init.exit   "<exit status> <exited-at unix nanos>\n", written atomically when init exits
//   runtime     "binary=<path>\nroot=<dir>\nsystemd_cgroup=0|1\n": how to reach the runtime
//   log.json    the runtime's JSON log
// Blocking file I/O (small files on tmpfs).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>

#include "common/status.h"
#include "shim/oci_runtime.h"

namespace berth::shim {

inline constexpr const char kAddressFile[] = "address";
inline constexpr const char kInitPidFile[] = "init.pid";
inline constexpr const char kInitExitFile[] = "init.exit";
inline constexpr const char kRuntimeFile[] = "runtime";
inline constexpr const char kRuntimeLogFile[] = "log.json";

struct ExitRecord {
  uint32_t status = 0;
  int64_t exited_at_ns = 0;
};

// Replaces `path` with `data` atomically (temporary file + rename) but without fsync: bundle
// files live on tmpfs (/run) and must survive the shim, not a power loss, and an fsync on a disk
// would add tens of milliseconds to every container start. Errors name the path.
Status WriteFileNoSync(const std::string& path, std::string_view data, mode_t mode);

// A pid file as runc/crun write it (decimal, maybe without newline). NOT_FOUND when missing,
// INVALID_ARGUMENT when it holds no positive number.
Result<pid_t> ReadPidFile(const std::string& path);

Status WriteExitRecord(const std::string& bundle, const ExitRecord& record);
std::optional<ExitRecord> ReadExitRecord(const std::string& bundle);

// Whether the container gets a pid namespace of its own (config.json lists a "pid" namespace
// without a path). Without one the kernel does not end the container's other processes when its
// init exits, so the shim must. True when config.json cannot be read or parsed.
bool HasOwnPidNamespace(const std::string& bundle);

Status WriteRuntimeRecord(const std::string& bundle, const RuntimeConfig& config);
// The saved config, or nullopt when the file is missing or unreadable.
std::optional<RuntimeConfig> ReadRuntimeRecord(const std::string& bundle);

}  // namespace berth::shim
