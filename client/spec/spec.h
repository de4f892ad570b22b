#pragma once
// OCI runtime spec generation (client side): turns an image config plus `berthctl run` flags into
// the config.json a runtime (runc, crun) executes. Defaults follow containerd's
// (oci.populateDefaultUnixSpec): pid/ipc/uts/mount/network namespaces, the usual /proc /dev
// /dev/pts /dev/shm /dev/mqueue /sys /run mounts, containerd's 14 default capabilities, masked
// and read-only /proc and /sys paths, RLIMIT_NOFILE 1024, no new privileges, hostname = id,
// cgroups path /berth/<namespace>/<id>.
//
// Process: args = Entrypoint + (user args, else Cmd); env = image Env, then PATH if missing,
// TERM=xterm with a terminal, then --env-file and --env entries (a later KEY replaces an
// earlier one); cwd = --cwd, else WorkingDir, else "/"; user = --user, else the image User,
// resolved against the image's /etc/passwd and /etc/group (see user.h).
//
// Errors: INVALID_ARGUMENT naming the offending field or flag (relative cwd or mount
// destination, unknown user, uid/gid above INT32_MAX, bad --cpus...). Pure functions apart from
// the RootfsFiles reads and, for --privileged, a scan of the host's /dev.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/spec/rootfs_files.h"
#include "common/status.h"

namespace berth::spec {

// "1.0.2": the runtime-spec version runc 1.1 and crun implement.
inline constexpr const char kOciVersion[] = "1.0.2";
inline constexpr const char kDefaultPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// One --mount flag: type=bind,src=/host,dst=/ctr,options=rbind:ro
struct MountFlag {
  std::string type = "bind";
  std::string source;
  std::string destination;
  std::vector<std::string> options;
};
Result<MountFlag> ParseMountFlag(const std::string& text);

// Lines of an --env-file: KEY=VALUE; blank lines and lines starting with '#' are skipped; a bare
// KEY is refused (INVALID_ARGUMENT with the line number). At most 1 MiB.
Result<std::vector<std::string>> ReadEnvFile(const std::string& path);

enum class NetworkMode { kNone, kHost };  // kNone: a new, empty network namespace

struct SpecOptions {
  std::string ns = "default";
  std::string id;
  std::vector<std::string> args;                       // replaces the image's Cmd when not empty
  std::optional<std::vector<std::string>> entrypoint;  // replaces Entrypoint when set
  std::vector<std::string> env;         // KEY=VALUE, applied last (--env-file entries first)
  std::optional<std::string> user;      // --user
  std::optional<std::string> cwd;       // --cwd
  std::optional<std::string> hostname;  // default: id (host's name with kHost)
  std::vector<MountFlag> mounts;
  NetworkMode net = NetworkMode::kNone;
  bool privileged = false;
  bool read_only = false;
  bool terminal = false;
  std::optional<int64_t> memory_limit;   // bytes
  std::optional<double> cpus;            // CPU quota in CPUs (0.5 = half a CPU)
  std::string cgroup_parent = "/berth";  // cgroupsPath = <parent>/<ns>/<id>
};

// `image_config` is the whole image config document (its "config" object holds Env, Cmd, ...;
// it may be null or empty for no image). `files` reads the image's /etc/passwd and /etc/group
// (only needed when a user name has to be resolved).
Result<nlohmann::json> GenerateSpec(const nlohmann::json& image_config, const SpecOptions& options,
                                    const RootfsFiles& files);

// Parses "512m", "1g", "1048576" (bytes; k/m/g/t suffixes, powers of 1024).
Result<int64_t> ParseMemorySize(const std::string& text);

}  // namespace berth::spec
