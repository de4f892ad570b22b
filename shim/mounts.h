#pragma once
// Mounting the rootfs list containerd sends with Create (overlay, bind, ...) onto
// <bundle>/rootfs, and unmounting it again on Delete and in the `delete` subcommand.
// Blocking system calls (mount(2) is quick); thread-compatible.

#include <string>
#include <vector>

#include "common/status.h"

namespace berth::shim {

struct MountSpec {
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct MountOptions {
  unsigned long flags = 0;        // MS_* flags from the options
  unsigned long propagation = 0;  // MS_SHARED/MS_PRIVATE/... (applied after mounting)
  std::string data;               // the rest, comma-joined, for the filesystem
};

// Splits fstab-style options into mount flags and filesystem data, as mount(8) does: "ro",
// "nosuid", "rbind", "noatime"... become flags ("rw", "suid"... clear them), anything else (e.g.
// "lowerdir=...", "index=off") is passed through as data.
MountOptions ParseMountOptions(const std::vector<std::string>& options);

// Mounts `mounts` in order on `target` (created when missing). A bind mount ("bind" type or a
// "bind"/"rbind" option) that should be read-only is remounted read-only, as the kernel ignores
// MS_RDONLY on the first bind. On failure the mounts made so far are undone. Errors name the
// mount and the errno ("mount overlay on /b/rootfs: Invalid argument").
Status MountAll(const std::vector<MountSpec>& mounts, const std::string& target);

// Unmounts everything stacked on `target` (lazily, MNT_DETACH) until it is no longer a mount
// point. A missing target or one with nothing mounted is OK.
Status UnmountAll(const std::string& target);

}  // namespace berth::shim
