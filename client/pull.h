#pragma once
// Pull: an image from a registry into the content store, unpacked into snapshots, recorded in
// metadata.
//
//   resolve (one GET of the manifest or index) -> already there and complete? done, no work
//   -> lease -> index: choose the platform's manifest (or every manifest with all_platforms)
//   -> manifests (documents, verified, stored with GC labels)
//   -> configs and layers: max_concurrent downloads at once, configs first, each streamed into
//      the content store under ref "pull-<hex>" (an interrupted pull resumes from the bytes the
//      ingest holds; a blob that fails its digest check is aborted, never committed)
//   -> meanwhile one unpack thread reads the config as soon as it is committed, then applies
//      layer i as soon as it is committed and layers 0..i-1 are unpacked, verifying each
//      diffID, committing snapshot chainID(i)
//   -> layer diffID labels, the config's snapshot label, the image record (target = the
//      resolved descriptor; labels point at the unpacked snapshot)
//   -> lease deleted.
// Everything the pull writes or reuses (blobs, ingests, snapshots) is added to the lease before
// it is used, so garbage collection cannot take it before the image record refers to it.
//
// Only the manifest of the chosen platform is unpacked (with all_platforms: the one matching
// `platform`, the host by default, when there is one).
//
// Errors: those of Registry (NOT_FOUND, UNAUTHENTICATED, DATA_LOSS...), of the services, and
// CANCELLED when the cancel flag was set. On error nothing half-done is visible: blobs are
// committed only when verified, snapshots only when their diffID matched, the image record last.
//
// Thread-safety: one Pull per call; it starts and joins its own threads.

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "client/image_store.h"
#include "client/local_image.h"
#include "client/progress.h"
#include "client/reference.h"
#include "client/registry.h"

namespace berth::client {

struct PullOptions {
  std::optional<Platform> platform{};  // default: the host's
  bool all_platforms = false;
  int max_concurrent = 3;
  bool unpack = true;
  std::string snapshotter = "overlayfs";
  Progress* progress = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  std::chrono::seconds lease_expire{24 * 3600};
};

struct PullServices {
  content::Store* content = nullptr;
  snapshot::Snapshotter* snapshots = nullptr;  // needed when unpacking
  snapshot::Differ* differ = nullptr;          // needed when unpacking
  ImageStore* images = nullptr;
};

struct PullResult {
  ImageRecord image{};
  LocalImage local{};            // the platform's manifest, config and chain IDs
  bool already_present = false;  // nothing was fetched or unpacked
  uint64_t fetched = 0;          // bytes downloaded from the registry
  uint64_t layers_fetched = 0;
  uint64_t layers_unpacked = 0;
};

Result<PullResult> Pull(Registry& registry, const Reference& ref, const PullServices& services,
                        const PullOptions& options);

// Image labels that record the unpacked snapshot (also on the config blob as containerd does).
std::map<std::string, std::string> ImageLabels(const std::string& snapshotter,
                                               const LocalImage& image, bool unpacked);

}  // namespace berth::client
