#pragma once
// Mounts as the snapshot service hands them out, and the helper that performs them.
//
// A snapshot's filesystem is described by a list of Mount values (containerd's model): one
// "bind" of a directory for a snapshot with at most one layer, or one "overlay" whose options
// name the lower layers (top first), the upper directory and the work directory.
//
// Deep chains: mount(2) takes its options as one string of at most one page (4096 bytes), which
// a chain of ~80 layers with absolute paths exceeds. MountAll() handles any length:
//   1. options that fit in a page: plain mount(2);
//   2. longer overlay options: the new mount API (fsopen/fsconfig with one "lowerdir+" per
//      layer, Linux >= 6.8) which has no total limit;
//   3. older kernels: the lower directories are made relative to their longest common parent and
//      the mount runs on a helper thread that has its own working directory there
//      (unshare(CLONE_FS) + chdir), like containerd's chdir'ed mount helper.
// The snapshotters themselves keep paths short (<root>/snapshots/<numeric id>/fs), so case 3 fits
// ~500 layers, overlayfs's own maximum.
//
// Thread-safety: all functions are safe to call from any thread; they block.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::snapshot {

struct Mount {
  std::string type{};    // "bind", "overlay", ...
  std::string source{};  // directory for bind; "overlay" for overlay
  std::string target{};  // sub-path under the mount point, usually empty
  std::vector<std::string> options{};

  bool operator==(const Mount&) const = default;
};

// "type source [options,...]" for logs and the CLI.
std::string MountToString(const Mount& mount);

// The value of option `key=` in `mount.options` ("upperdir" -> "/x/fs"), if present.
std::optional<std::string> MountOption(const Mount& mount, std::string_view key);
// The lowerdir list of an overlay mount, top layer first (empty when there is none).
std::vector<std::string> OverlayLowerDirs(const Mount& mount);

// Mounts each of `mounts` in order at `target` (joined with mount.target when set). Bind mounts
// honour "ro" with a read-only remount. On failure, mounts made so far are undone. Errors name
// the mount and the errno text (PERMISSION_DENIED without CAP_SYS_ADMIN).
Status MountAll(const std::vector<Mount>& mounts, const std::string& target);

// Case 3 above on its own, whatever the kernel: mounts overlay `mount` at `target` with its
// lowerdirs relative to their longest common parent, from a helper thread whose working
// directory is that parent. MountAll uses it only when the new mount API is missing; it is
// public so that tests can show it works on kernels that have the new API.
Status MountOverlayRelative(const Mount& mount, const std::string& target);

// umount2(target). `detach` uses MNT_DETACH (lazy). NOT_FOUND/INVALID_ARGUMENT when nothing is
// mounted there.
Status Unmount(const std::string& target, bool detach = false);

// Mounts on construction (Create) and unmounts (lazily, MNT_DETACH) on destruction, so no mount
// outlives its owner even on an error path.
class MountGuard {
 public:
  static Result<MountGuard> Create(const std::vector<Mount>& mounts, const std::string& target);
  MountGuard(MountGuard&& other) noexcept;
  MountGuard& operator=(MountGuard&& other) noexcept;
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;
  ~MountGuard();

  const std::string& target() const { return target_; }
  // Unmounts now (not lazily) and reports the result; the destructor then does nothing.
  Status Release();

 private:
  explicit MountGuard(std::string target, int count) : target_(std::move(target)), count_(count) {}
  std::string target_;
  int count_ = 0;  // stacked mounts at target_
};

}  // namespace berth::snapshot
