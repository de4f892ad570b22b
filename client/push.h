#pragma once
// Push: an image from the content store to a registry. Blobs first (layers and configs,
// max_concurrent at once: each skipped when the repository has it, mounted from another
// repository of the same registry when the blob's containerd.io/distribution.source.<registry>
// label names one, else uploaded monolithically or in chunks), then manifests children first,
// the root last under the reference's tag (or digest).
//
// An index whose children are not all present locally (a single-platform pull of a multi-
// platform image) cannot be pushed as is: then the manifest for `platform` (the host's by
// default) is pushed in its place, and PushResult::target says so.
//
// Errors: NOT_FOUND (content missing locally), the Registry's errors.
// Thread-safety: one call at a time per Registry is not required; it starts its own threads.

#include <optional>

#include "client/progress.h"
#include "client/registry.h"
#include "services/content/content.h"

namespace berth::client {

struct PushOptions {
  std::optional<Platform> platform{};  // push only this platform's manifest; default: all
  int max_concurrent = 3;
  uint64_t chunk_size = 0;  // 0: monolithic uploads
  Progress* progress = nullptr;
};

struct PushResult {
  Descriptor target{};                              // what the tag now names
  uint64_t uploaded = 0, existed = 0, mounted = 0;  // blobs
};

Result<PushResult> PushImage(Registry& registry, content::Store& store, const Descriptor& target,
                             const PushOptions& options = {});

}  // namespace berth::client
