#pragma once
// Image archives: import of OCI image layouts (as tar, optionally gzip/zstd/xz compressed, e.g.
// `skopeo copy ... oci-archive:`, `ctr images export`) and of `docker save` archives, and export
// of images as OCI layout tars.
//
// Import streams the tar once: every blob goes straight into the content store (OCI blobs
// verified against the digest in their path; docker layers hashed as they are written), small
// JSON files are kept in memory. Then the images are read from index.json (OCI; preferred when
// both exist) or manifest.json (docker). A docker image becomes an OCI manifest (config as
// written, layers typed by their sniffed compression) written to the store.
//
// Image names: OCI: the "io.containerd.image.name" annotation, else
// "org.opencontainers.image.ref.name" when it is a full reference, else (a tag only) the
// base name + ":" + tag when a base name is given, else the image stays unnamed (name ""). Docker:
// each RepoTags entry, normalised ("busybox:latest" -> docker.io/library/busybox:latest).
//
// Export writes `oci-layout`, `index.json` (one entry per image, annotated with both names) and
// `blobs/<alg>/<hex>` for every blob reachable from the images (each once), to a temp file that
// is renamed over `path` when complete. With a platform, index children of other platforms are
// left out when absent locally or not matching.
//
// Errors: INVALID_ARGUMENT (not a tar, no index.json nor manifest.json, malformed documents,
// unsafe paths), DATA_LOSS (a blob that does not match its digest), NOT_FOUND (export: content
// missing), store errors as they come.
//
// Thread-safety: each call is independent; the store must be thread-safe (content.h).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "client/media_types.h"
#include "client/oci.h"
#include "client/platform.h"
#include "services/content/content.h"

namespace berth::client {

struct ArchiveImage {
  std::string name{};   // normalised reference; "" when the archive names none
  Descriptor target{};  // the manifest or index
};

struct ImportOptions {
  std::string base_name{};  // for OCI entries named only by a tag
  // Called with each blob's digest before it is written when known (OCI), else right after it
  // was committed (docker layers): the caller adds it to its lease.
  std::function<Status(const Digest&)> on_blob{};
};

struct ImportResult {
  std::vector<ArchiveImage> images{};
  uint64_t blobs = 0;    // blobs in the archive
  uint64_t written = 0;  // bytes written to the store (blobs already present are skipped)
};

Result<ImportResult> ImportArchive(const std::string& path, content::Store& store,
                                   const ImportOptions& options = {});

struct ExportOptions {
  media::Compression compression = media::Compression::kNone;
  std::optional<PlatformMatcher> platform{};  // nullopt: every platform (all must be present)
};

Status ExportArchive(const std::string& path, content::Store& store,
                     const std::vector<ArchiveImage>& images, const ExportOptions& options = {});

// The blobs reachable from `target` (itself included), each once, parents before children;
// index children not matching `platform` (when given) are skipped. Reads documents from `store`.
Result<std::vector<Descriptor>> ReachableBlobs(content::Store& store, const Descriptor& target,
                                               const std::optional<PlatformMatcher>& platform);

}  // namespace berth::client
