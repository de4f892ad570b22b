#pragma once
// The two snapshot drivers (see fs_snapshotter.h) and the factory that opens a snapshotter.
//
// overlayfs (default): a snapshot's fs/ holds only its own changes; mounts stack the parents'
//   fs/ directories as overlay lower layers. Mounts:
//     active, no parent     bind <id>/fs rw
//     active, parents       overlay lowerdir=<p1>/fs:<p2>/fs:...,upperdir=<id>/fs,workdir=<id>/work
//     view, no parent       bind <id>/fs ro (empty)
//     view, one parent      bind <p1>/fs ro
//     view, several         overlay lowerdir=<p1>/fs:<p2>/fs:... (read-only)
//   ("index=off" is added when the kernel knows the option, as containerd does.)
// native: a snapshot's fs/ is a full copy of its parent (CopyTree), for filesystems that cannot
//   host overlayfs. Mounts: bind <id>/fs, rw for active, ro for views.

#include <memory>
#include <string>

#include "services/snapshot/fs_snapshotter.h"

namespace berth::snapshot {

std::unique_ptr<SnapshotDriver> MakeOverlayDriver();
std::unique_ptr<SnapshotDriver> MakeNativeDriver();

// Probes overlayfs in directory `dir` (on the filesystem the snapshots will live on): mounts an
// overlay with two lower layers, an upper and a work dir in a scratch directory, writes through
// it and unmounts. FAILED_PRECONDITION with the kernel's reason when that does not work.
Status CheckOverlaySupport(const std::string& dir);

// Opens snapshotter `name` ("overlayfs" or "native") in `<snapshot_root>/<name>`. For overlayfs
// the probe runs first and its failure is returned (the caller reports the plugin as failed and
// keeps the others). INVALID_ARGUMENT for an unknown name or a root path containing ',' or ':'
// (they would break overlay options).
Result<std::unique_ptr<FsSnapshotter>> OpenSnapshotter(const std::string& snapshot_root,
                                                       std::string_view name);

}  // namespace berth::snapshot
