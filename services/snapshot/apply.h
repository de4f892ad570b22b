#pragma once
// ApplyLayer: unpacks one layer (a tar, optionally gzip/zstd-compressed) into a directory.
//
// Pipeline: LayerStream (decompression + sha256 on its own thread, bounded ring of chunks) ->
// libarchive (tar headers and data only: pax, GNU and ustar formats) -> EntryWriter (files
// written fd-relative and confined to the root; see entry_writer.h for the safety rules).
//
// The result's diff_id is the sha256 of the whole uncompressed stream (the OCI diffID); the
// caller compares it with the image config.
//
// A refused layer (hostile or corrupt) returns an error naming the entry; what was written
// before stays inside the root, so the snapshot can simply be removed.
//
// Thread-safety: independent calls may run concurrently on different roots.

#include <cstdint>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/status.h"
#include "services/snapshot/entry_writer.h"
#include "services/snapshot/layer_stream.h"

namespace berth::snapshot {

struct ApplyLimits {
  // Tar entries (headers) in one layer.
  uint64_t max_entries = uint64_t{1} << 20;
  // Uncompressed bytes (0: unlimited). Bounds the time a decompression bomb costs.
  uint64_t max_bytes = 0;
  // Logical size of one file.
  int64_t max_file_size = int64_t{1} << 40;
  // Total bytes of extended attributes on one entry.
  size_t max_xattr_bytes = size_t{1} << 20;
};

struct ApplyOptions {
  Compression compression = Compression::kNone;
  WhiteoutMode whiteouts = WhiteoutMode::kDelete;
  std::vector<std::string> lower_dirs;  // overlay mode, see EntryWriterOptions
  ApplyLimits limits;
  // syncfs() the root's filesystem before returning.
  bool sync = false;
  // Uncompressed bytes per pipeline chunk (LayerStreamOptions::chunk_size). Small chunks make
  // tar headers and file data straddle chunk borders (the fuzzer uses them).
  size_t chunk_size = size_t{1} << 20;
};

struct ApplyResult {
  Digest diff_id;        // sha256 of the uncompressed stream
  uint64_t size = 0;     // uncompressed bytes
  uint64_t entries = 0;  // tar entries applied
};

// Applies the layer read from `source` onto existing directory `root`. Errors:
//   INVALID_ARGUMENT    corrupt compression or tar, hostile entries (message names the entry);
//   RESOURCE_EXHAUSTED  a limit in options.limits, or the disk is full;
//   others              I/O failures.
Result<ApplyResult> ApplyLayer(const std::string& root, ByteSource& source,
                               const ApplyOptions& options);

}  // namespace berth::snapshot
