#pragma once
// Images as stored locally: reading an image's documents back from the content store, checking
// that everything is there, and unpacking its layers into snapshots.
//
// Snapshot naming (containerd's): layer i of an image is committed under its chain ID
// (oci.h ChainIds), so images sharing bottom layers share snapshots; the image's rootfs is the
// top chain ID. An active snapshot being unpacked is "extract-<pid>-<random> <chain id>".
//
// Thread-safety: functions are independent; the services are thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/image_store.h"
#include "client/oci.h"
#include "client/platform.h"
#include "client/progress.h"
#include "services/content/content.h"
#include "services/snapshot/differ.h"
#include "services/snapshot/snapshotter.h"

namespace berth::client {

struct LocalImage {
  Descriptor manifest_descriptor{};
  Manifest manifest{};
  ImageConfig config{};
  std::vector<Digest> chain_ids{};  // one per layer
  // The rootfs snapshot name: the top chain ID ("" for an image without layers).
  std::string TopChain() const { return chain_ids.empty() ? "" : chain_ids.back().ToString(); }
};

// Reads target (an index: the best manifest for `platform`; or a manifest) and its config from
// the store, verified. NOT_FOUND names what is missing.
Result<LocalImage> LoadImage(content::Store& store, const Descriptor& target,
                             const PlatformMatcher& platform);

// Fills image.config and image.chain_ids from the config blob image.manifest.config names
// (read from the store and verified). INVALID_ARGUMENT when the config's diff_ids do not match
// the manifest's layers one for one; NOT_FOUND when the config is not in the store.
Status ReadImageConfig(content::Store& store, LocalImage& image);

struct ImageCheck {
  std::vector<Descriptor> missing{};  // blobs of the platform's image not in the store
  uint64_t size = 0;                  // bytes of its blobs that are present
  bool unpacked = false;              // its top snapshot exists
  bool complete() const { return missing.empty(); }
};
// What a `check` reports: every blob of target's image for `platform` that the store lacks.
// A missing document hides what it would name (a missing manifest: its config and layers are
// not listed); a missing config leaves unpacked false. Errors: NOT_FOUND when an index present
// in the store offers no manifest for `platform`; a present document that fails to verify or
// parse; errors of the services. `snapshots` may be null (then unpacked is false).
Result<ImageCheck> CheckImage(content::Store& store, snapshot::Snapshotter* snapshots,
                              const Descriptor& target, const PlatformMatcher& platform);

struct UnpackContext {
  content::Store* content = nullptr;
  snapshot::Snapshotter* snapshots = nullptr;
  snapshot::Differ* differ = nullptr;
  std::string snapshotter = "overlayfs";  // its name, for lease resources and GC labels
  ImageStore* leases = nullptr;           // null: no lease bookkeeping
  std::string lease{};
};

// Applies `layer` onto committed snapshot `parent` ("" for none) and commits it as `chain`;
// OK without work when `chain` already exists. The diffID of what was applied must be `diff_id`
// (DATA_LOSS otherwise, and nothing is committed). Errors of the services pass through.
Status UnpackLayer(const UnpackContext& ctx, const Descriptor& layer, const Digest& diff_id,
                   const std::string& parent, const std::string& chain);

// Unpacks every layer of `image` in order (content must be present). `progress` may be null.
Status UnpackImage(const UnpackContext& ctx, const LocalImage& image, Progress* progress);

// GC labels for a manifest blob (config and layers), an index (its manifests) and a config
// (its unpacked snapshot).
content::Labels ManifestLabels(const Manifest& manifest);
content::Labels IndexLabels(const std::vector<Descriptor>& children);
content::Labels SnapshotLabel(const std::string& snapshotter, const std::string& chain);

// Sets `labels` on a committed blob, keeping its other labels. NOT_FOUND when it is absent.
Status AddContentLabels(content::Store& store, const Digest& digest, const content::Labels& labels);

// Gives each layer of `image` (config read) its diffID label (containerd.io/uncompressed).
Status LabelLayers(content::Store& store, const LocalImage& image);

// Labels the documents of the image at `target` the way a pull does, so that garbage collection
// keeps everything the image record reaches once the flow's lease is gone: an index refers to
// each of its children (gc.ref.content.m.<i>), a manifest to its config and layers
// (gc.ref.content.config, gc.ref.content.l.<i>), and each layer gets its diffID
// (containerd.io/uncompressed). Index children absent from the store are skipped (a partial
// import of a multi-platform image); `target` itself and the children of a present manifest
// must be there (NOT_FOUND otherwise). Documents are verified against their descriptors.
Status LabelImageContent(content::Store& store, const Descriptor& target);

}  // namespace berth::client
