#pragma once
// Building images locally from a snapshot difference: what `berthctl commit` and
// `berthctl bundle pack` share. The flow:
//
//   1. CompareLayer: the diff service computes the layer from a lower and an upper tree
//      (Differ::Compare, gzip or zstd) into the content store, protected by the flow's lease;
//   2. WriteImage: a new image config (the base's, or an empty one, with the changes applied,
//      the layer's diffID appended to rootfs.diff_ids and a history entry appended) and an OCI
//      manifest (the base's layers + the new one) are written to the content store with the GC
//      labels a pull sets;
//   3. RecordImage: the image is unpacked (only the new layer is applied: the base's layers
//      are already snapshots) and recorded in berth-metadata, ready to run, export or push.
//
// Errors: those of the services (UNAVAILABLE, NOT_FOUND...), annotated with the step.
// Thread-safety: functions are independent; the services are thread-safe.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "client/image_store.h"
#include "client/local_image.h"
#include "client/oci.h"
#include "services/content/content.h"
#include "services/snapshot/differ.h"

namespace berth::client {

// Edits of the image config's "config" object (unset fields keep the base's value).
struct ConfigChanges {
  std::optional<std::vector<std::string>> entrypoint{};  // an empty vector clears it
  std::optional<std::vector<std::string>> cmd{};
  std::optional<std::vector<std::string>> env{};  // replaces the whole Env
  std::vector<std::string> add_env{};             // KEY=VALUE, replacing the same KEY
  std::optional<std::string> working_dir{};
  std::optional<std::string> user{};
  std::vector<std::pair<std::string, std::string>> labels{};
};

// Parses one `--change` instruction in Dockerfile syntax: "ENV KEY=VALUE", "CMD [\"a\",\"b\"]"
// or "CMD a b" (shell form becomes ["/bin/sh","-c","a b"]), "ENTRYPOINT ...", "WORKDIR /dir",
// "USER name[:group]", "LABEL key=value". "ENV=KEY=VALUE" (the first '=' in place of the space)
// is accepted too. INVALID_ARGUMENT names the instruction and lists the supported ones.
Status ParseChange(const std::string& text, ConfigChanges& changes);

// The compression of the new layer: "gzip" (default) or "zstd", "none" for an uncompressed tar.
// Returns the OCI layer media type; INVALID_ARGUMENT for anything else.
Result<std::string> LayerMediaType(const std::string& compression);

struct NewLayer {
  Descriptor descriptor{};  // the blob in the content store
  Digest diff_id{};
};

// Computes the layer of changes from `lower` to `upper` (snapshot mounts; empty `lower` = from
// nothing) with `differ` into `content`, and adds the blob to `lease` (when `leases` is not null)
// so that GC keeps it until the image exists. The lease cannot name the blob before Compare has
// computed its digest, so the blob is committed with the label containerd.io/gc.root (a GC
// collecting between the commit and AddLeaseResource would otherwise sweep it), which is
// removed once the lease holds the blob.
inline constexpr char kBuildGcRootLabel[] = "containerd.io/gc.root";
Result<NewLayer> CompareLayer(snapshot::Differ& differ, content::Store& content,
                              const std::vector<snapshot::Mount>& lower,
                              const std::vector<snapshot::Mount>& upper,
                              const std::string& media_type, ImageStore* leases,
                              const std::string& lease);

struct HistoryEntry {
  std::string created_by{};  // the command that made the layer
  std::string comment{};     // --message
  std::string author{};
};

struct ImageSpec {
  const LocalImage* base = nullptr;  // null: an image of this one layer
  Platform platform{};               // for an image without base (the base's is kept)
  ConfigChanges changes{};
  HistoryEntry history{};
  NewLayer layer{};
};

// Writes the config and the manifest of the new image to `store` (each added to `lease` first
// when `leases` is not null) with GC labels on the manifest and the layers' diffID labels.
// Returns the image as LoadImage would read it back.
Result<LocalImage> WriteImage(content::Store& store, const ImageSpec& spec, ImageStore* leases,
                              const std::string& lease);

// Unpacks `image` (ctx.leases and ctx.lease protect the new snapshot) and records it as `name`
// in ctx.leases' metadata store (replacing the target of an existing image of that name).
Status RecordImage(const UnpackContext& ctx, const std::string& name, const LocalImage& image);

// The whole flow: CompareLayer(lower, upper) with ctx.differ, WriteImage with `spec` (its layer
// set from the comparison) and RecordImage as `name`. ctx.leases and ctx.lease are required
// (the lease protects the blobs and the snapshot until the image record exists). `compared`
// (may be empty) runs as soon as the trees have been read, whatever the outcome: commit resumes
// the paused container there.
Result<LocalImage> BuildImage(const UnpackContext& ctx, const std::vector<snapshot::Mount>& lower,
                              const std::vector<snapshot::Mount>& upper,
                              const std::string& media_type, ImageSpec spec,
                              const std::string& name, const std::function<void()>& compared = {});

}  // namespace berth::client
