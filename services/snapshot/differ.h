#pragma once
// The diff interface (plugin berth.differ.v1/walking): applies layer blobs from the content
// store onto snapshots and computes layers from two snapshots. Modelled on containerd's
// diff.Applier and diff.Comparer.
//
// Apply(desc, mounts): the mounts are those of an active snapshot (Prepare). Berth writes the
// layer straight into the snapshot's directory instead of mounting it:
//   - one "bind" mount: the layer is applied onto its source directory (whiteouts delete);
//   - one "overlay" mount with an upperdir: the layer goes into the upper directory, whiteouts
//     become overlay whiteouts, and missing parent directories take their metadata from the
//     lower layers;
//   - anything else is mounted on a scratch directory and applied there (whiteouts delete).
// The blob is read through the content store's read-only fd (no copy through the IPC when the
// store hands over fds) and decompressed per the media type.
//
// Compare(lower, upper): both are mounted read-only (bind mounts are read in place) and walked
// (tree_diff.h); the resulting layer is written to the content store.
//
// Errors: NOT_FOUND (blob), FAILED_PRECONDITION (read-only mounts, size mismatch between the
// descriptor and the blob), INVALID_ARGUMENT (media type, mounts, corrupt or hostile layer),
// RESOURCE_EXHAUSTED (limits), UNAVAILABLE (content service unreachable).
//
// Thread-safety: safe to use from many threads; every method blocks.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/status.h"
#include "services/content/content.h"
#include "services/snapshot/apply.h"
#include "services/snapshot/layer_writer.h"
#include "services/snapshot/mount.h"

namespace berth::snapshot {

// The annotation carrying a layer's diffID on its descriptor (containerd's).
inline constexpr char kUncompressedAnnotation[] = "containerd.io/uncompressed";

struct Descriptor {
  std::string media_type{};
  Digest digest{};
  int64_t size = 0;
  std::map<std::string, std::string> annotations{};
};

struct DiffApplyOptions {
  bool sync = false;  // syncfs the snapshot's filesystem before returning
};

struct CompareOptions {
  std::string media_type{kMediaTypeLayerGzip};  // or kMediaTypeLayer, kMediaTypeLayerZstd
  std::string ref{};                            // content ingest ref; default: unique
  std::map<std::string, std::string> labels{};  // labels of the committed blob
};

struct CompareResult {
  Descriptor descriptor;  // the blob; annotations[kUncompressedAnnotation] = diff_id
  Digest diff_id;
};

class Differ {
 public:
  virtual ~Differ() = default;
  virtual Result<ApplyResult> Apply(const Descriptor& layer, const std::vector<Mount>& mounts,
                                    const DiffApplyOptions& options = {}) = 0;
  virtual Result<CompareResult> Compare(const std::vector<Mount>& lower,
                                        const std::vector<Mount>& upper,
                                        const CompareOptions& options = {}) = 0;
};

// Applies one layer from an already open source onto `mounts` (the core of Apply, also used
// by the CLI's local mode and by tests without a content store).
Result<ApplyResult> ApplyToMounts(ByteSource& source, Compression compression,
                                  const std::vector<Mount>& mounts, const std::string& scratch,
                                  const ApplyLimits& limits, bool sync);

// Writes the layer of changes from `lower` to `upper` mounts into `sink` (the core of Compare).
Result<LayerWriterResult> CompareToSink(const std::vector<Mount>& lower,
                                        const std::vector<Mount>& upper, Compression compression,
                                        const std::string& scratch, ByteSink& sink);

class WalkingDiffer : public Differ {
 public:
  // `store` is borrowed (a local store in tests, the content proxy in berth-snapshot).
  // `scratch` is a directory for temporary mount points.
  WalkingDiffer(content::Store& store, std::string scratch, ApplyLimits limits = {});

  Result<ApplyResult> Apply(const Descriptor& layer, const std::vector<Mount>& mounts,
                            const DiffApplyOptions& options) override;
  Result<CompareResult> Compare(const std::vector<Mount>& lower, const std::vector<Mount>& upper,
                                const CompareOptions& options) override;

 private:
  content::Store& store_;
  std::string scratch_;
  ApplyLimits limits_;
};

}  // namespace berth::snapshot
