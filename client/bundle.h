#pragma once
// OCI bundles (a directory with config.json and rootfs/) made from images and back: what
// `berthctl bundle extract` and `berthctl bundle pack` share with image_build.h.
//
// Extract copies the image's unpacked rootfs out of a temporary read-only view snapshot into
// DIR/rootfs, a plain directory tree (no mount stays behind, so the bundle survives reboots
// and can be copied elsewhere); the caller writes config.json with the spec generator.
// Pack reads config.json's process back into image config changes; the layer itself is made by
// the diff service (client::CompareLayer with a bind mount of DIR/rootfs as the upper tree).
//
// Errors: FAILED_PRECONDITION for a non-empty DIR without force, NOT_FOUND for a missing
// config.json or rootfs/, INVALID_ARGUMENT for a config.json that is not an OCI spec; service
// errors pass through annotated.

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/image_build.h"
#include "services/snapshot/snapshotter.h"

namespace berth::client {

// Makes `dir` ready for a new bundle: created when missing; when it has entries, refused
// unless `force`, which removes its rootfs/ and config.json (nothing else) first.
Status PrepareBundleDir(const std::string& dir, bool force);

// Copies the committed snapshot `chain` (an image's top chain ID) into `rootfs`, which must be
// an existing empty directory: owners, modes, times, xattrs, hard links, devices are kept.
// The temporary view snapshot and its mount are removed before returning, also on errors.
// `protect` (may be empty) gets the view's key before the view is made: the caller adds it to
// its lease so that garbage collection leaves the view alone while it is read.
Status ExtractRootfs(snapshot::Snapshotter& snapshots, const std::string& chain,
                     const std::string& rootfs,
                     const std::function<Status(const std::string&)>& protect = {});

struct BundleSpec {
  nlohmann::json spec;
  std::string rootfs;  // root.path, relative to DIR unless absolute; checked to be a directory
};
// DIR/config.json parsed (at most 4 MiB) and its root directory.
Result<BundleSpec> ReadBundleSpec(const std::string& dir);

// The image config a bundle's process describes: Cmd = process.args (Entrypoint cleared, so
// that the image runs exactly those args), Env = process.env, WorkingDir = process.cwd,
// User = "uid:gid" of process.user.
Result<ConfigChanges> ChangesFromSpec(const nlohmann::json& spec);

}  // namespace berth::client
