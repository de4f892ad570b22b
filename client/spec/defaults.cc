// containerd's defaults for a Linux container (oci.populateDefaultUnixSpec and WithPrivileged).
#include "client/spec/defaults.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <string>

namespace berth::spec {

using json = nlohmann::json;

std::vector<std::string> DefaultCapabilities() {
  return {"CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
          "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
          "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
          "CAP_KILL",    "CAP_AUDIT_WRITE"};
}

std::vector<std::string> AllCapabilities() {
  // Every capability of Linux up to CAP_CHECKPOINT_RESTORE (40), in number order.
  return {"CAP_CHOWN",
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
}

json DefaultMounts() {
  auto mount = [](const char* dst, const char* type, const char* src,
                  std::vector<std::string> options) {
    return json{{"destination", dst}, {"type", type}, {"source", src}, {"options", options}};
  };
  return json::array({
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/run", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
  });
}

std::vector<std::string> DefaultMaskedPaths() {
  return {"/proc/acpi",          "/proc/asound",     "/proc/kcore",       "/proc/keys",
          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
          "/sys/firmware",       "/proc/scsi"};
}

std::vector<std::string> DefaultReadonlyPaths() {
  return {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
}

namespace {
void ScanDevices(const std::string& dir, json& out, int depth) {
  if (depth > 4) return;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    // As containerd: skip the pty and mqueue/shm trees the container gets its own of.
    if (dir == "/dev" && (name == "pts" || name == "shm" || name == "mqueue" || name == "console" ||
                          name == "ptmx" || name == "fd")) {
      continue;
    }
    std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      ScanDevices(path, out, depth + 1);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      out.push_back({{"path", path},
                     {"type", S_ISCHR(st.st_mode) ? "c" : "b"},
                     {"major", major(st.st_rdev)},
                     {"minor", minor(st.st_rdev)},
                     {"fileMode", st.st_mode & 07777},
                     {"uid", st.st_uid},
                     {"gid", st.st_gid}});
    }
  }
  ::closedir(d);
}
}  // namespace

json HostDevices() {
  json devices = json::array();
  ScanDevices("/dev", devices, 0);
  return devices;
}

}  // namespace berth::spec
