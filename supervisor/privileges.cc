#include "supervisor/privileges.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <spdlog/spdlog.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "common/fs.h"

// Debian 12's kernel headers (6.1) predate Landlock ABI 3; the kernel may be newer.
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

namespace berth::supervisor {

namespace {

constexpr uint64_t Cap(int cap) { return uint64_t{1} << cap; }

// What berth-snapshot needs to unpack and diff layers as root does: mount overlay and scratch
// mounts (SYS_ADMIN, also for trusted.* xattrs), give files their owners and modes (CHOWN,
// FOWNER, FSETID), create device nodes and whiteouts (MKNOD), set file capabilities (SETFCAP),
// and read and write files whatever their modes say (DAC_OVERRIDE, DAC_READ_SEARCH).
constexpr uint64_t kSnapshotCapabilities =
    Cap(CAP_CHOWN) | Cap(CAP_DAC_OVERRIDE) | Cap(CAP_DAC_READ_SEARCH) | Cap(CAP_FOWNER) |
    Cap(CAP_FSETID) | Cap(CAP_MKNOD) | Cap(CAP_SETFCAP) | Cap(CAP_SYS_ADMIN);

constexpr const char* kCapabilityNames[] = {"CAP_CHOWN",
                                            "CAP_DAC_OVERRIDE",
                                            "CAP_DAC_READ_SEARCH",
                                            "CAP_FOWNER",
                                            "CAP_FSETID",
                                            "CAP_KILL",
                                            "CAP_SETGID",
                                            "CAP_SETUID",
                                            "CAP_SETPCAP",
                                            "CAP_LINUX_IMMUTABLE",
                                            "CAP_NET_BIND_SERVICE",
                                            "CAP_NET_BROADCAST",
                                            "CAP_NET_ADMIN",
                                            "CAP_NET_RAW",
                                            "CAP_IPC_LOCK",
                                            "CAP_IPC_OWNER",
                                            "CAP_SYS_MODULE",
                                            "CAP_SYS_RAWIO",
                                            "CAP_SYS_CHROOT",
                                            "CAP_SYS_PTRACE",
                                            "CAP_SYS_PACCT",
                                            "CAP_SYS_ADMIN",
                                            "CAP_SYS_BOOT",
                                            "CAP_SYS_NICE",
                                            "CAP_SYS_RESOURCE",
                                            "CAP_SYS_TIME",
                                            "CAP_SYS_TTY_CONFIG",
                                            "CAP_MKNOD",
                                            "CAP_LEASE",
                                            "CAP_AUDIT_WRITE",
                                            "CAP_AUDIT_CONTROL",
                                            "CAP_SETFCAP",
                                            "CAP_MAC_OVERRIDE",
                                            "CAP_MAC_ADMIN",
                                            "CAP_SYSLOG",
                                            "CAP_WAKE_ALARM",
                                            "CAP_BLOCK_SUSPEND",
                                            "CAP_AUDIT_READ",
                                            "CAP_PERFMON",
                                            "CAP_BPF",
                                            "CAP_CHECKPOINT_RESTORE"};

// The write-type accesses Landlock knows at `abi` (reads and execution stay allowed).
uint64_t WriteAccesses(int abi) {
  uint64_t access = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                    LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                    LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM;
  if (abi >= 2) access |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) access |= LANDLOCK_ACCESS_FS_TRUNCATE;
  return access;
}

Status AllowBeneath(int ruleset, const std::string& path, uint64_t access) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) return ErrnoStatus(errno, "landlock rule for " + path);
  landlock_path_beneath_attr rule{};
  rule.allowed_access = access;
  rule.parent_fd = fd.get();
  if (::syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) {
    return ErrnoStatus(errno, "landlock rule for " + path);
  }
  return Status::Ok();
}

}  // namespace

ServicePrivileges PrivilegesFor(const std::string& name, const std::string& root,
                                const std::string& socket) {
  ServicePrivileges p;
  std::string socket_dir = socket.substr(0, socket.find_last_of('/'));
  if (name == "content" || name == "metadata") {
    p.restricted = true;
    p.capabilities = 0;
    p.no_new_privs = true;
    p.landlock = true;
    p.writable = {root + "/" + name};
    p.socket_dir = socket_dir;
  } else if (name == "snapshot") {
    p.restricted = true;
    p.capabilities = kSnapshotCapabilities;
    p.no_new_privs = true;
  } else if (name == "runtime") {
    p.restricted = true;  // every capability, no no_new_privs: see the header
  }
  return p;
}

std::string CapabilityNames(uint64_t mask) {
  std::string out;
  for (size_t cap = 0; cap < std::size(kCapabilityNames); ++cap) {
    if (!((mask >> cap) & 1)) continue;
    if (!out.empty()) out += ' ';
    out += kCapabilityNames[cap];
  }
  return out.empty() ? "none" : out;
}

int LandlockAbi() {
  long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

Result<UniqueFd> BuildLandlockRuleset(const ServicePrivileges& privileges) {
  int abi = LandlockAbi();
  if (abi <= 0) return Status(Code::kUnimplemented, "this kernel has no Landlock");
  uint64_t writes = WriteAccesses(abi);
  landlock_ruleset_attr attr{};
  attr.handled_access_fs = writes;
  UniqueFd ruleset(static_cast<int>(
      ::syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr.handled_access_fs), 0)));
  if (!ruleset) return ErrnoStatus(errno, "landlock_create_ruleset");
  for (const std::string& dir : privileges.writable) {
    BERTH_RETURN_IF_ERROR(MakeDirs(dir, 0700));
    BERTH_RETURN_IF_ERROR(AllowBeneath(ruleset.get(), dir, writes));
  }
  if (!privileges.socket_dir.empty()) {
    BERTH_RETURN_IF_ERROR(
        AllowBeneath(ruleset.get(), privileges.socket_dir,
                     LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_REMOVE_FILE));
  }
  // Libraries and tools open /dev/null for writing now and then.
  uint64_t file_writes = LANDLOCK_ACCESS_FS_WRITE_FILE;
  if (abi >= 3) file_writes |= LANDLOCK_ACCESS_FS_TRUNCATE;
  BERTH_RETURN_IF_ERROR(AllowBeneath(ruleset.get(), "/dev/null", file_writes));
  return ruleset;
}

Result<UniqueFd> ApplyPrivileges(const ServicePrivileges& privileges, SpawnOptions& options) {
  if (!privileges.restricted) return UniqueFd();
  if (privileges.capabilities != ~0ULL) options.capabilities = privileges.capabilities;
  options.no_new_privs = privileges.no_new_privs;
  if (!privileges.landlock) return UniqueFd();
  Result<UniqueFd> ruleset = BuildLandlockRuleset(privileges);
  if (ruleset.ok()) {
    options.landlock_ruleset_fd = ruleset->get();
    return ruleset;
  }
  if (ruleset.status().code() != Code::kUnimplemented) return ruleset.status();
  static std::atomic<bool> warned{false};
  if (!warned.exchange(true)) {
    spdlog::warn(
        "this kernel has no Landlock: services keep their capability limits, but their "
        "writes are not confined to their own directories");
  }
  return UniqueFd();
}

}  // namespace berth::supervisor
