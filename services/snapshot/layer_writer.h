#pragma once
// The output side of Compare: writes an OCI layer (pax tar, uncompressed, gzip or zstd) to a sink
// while hashing both the uncompressed stream (diffID) and the blob (its digest).
//
// LayerWriter uses libarchive's pax writer (exact nanosecond mtimes, xattrs as SCHILY.xattr
// records, long names) with no block padding beyond the two end-of-archive blocks, and ISA-L
// deflate (level 1, fast and close to gzip -6 in size on typical layers) for gzip, libzstd (level
// 3, one frame with a content checksum) for zstd.
//
// Thread-safety: one thread at a time.

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/digest.h"
#include "common/status.h"
#include "services/snapshot/fs_util.h"
#include "services/snapshot/layer_stream.h"

struct archive;

namespace berth::snapshot {

// Where blob bytes go (a file, the content service...).
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(std::string_view data) = 0;
};

// Appends to an fd (not owned).
class FdSink : public ByteSink {
 public:
  explicit FdSink(int fd) : fd_(fd) {}
  Status Write(std::string_view data) override;

 private:
  int fd_;
};

struct LayerWriterResult {
  Digest diff_id;  // sha256 of the tar
  uint64_t tar_size = 0;
  Digest digest;  // sha256 of the blob (== diff_id when uncompressed)
  uint64_t blob_size = 0;
};

class LayerWriter {
 public:
  // Any Compression: kNone, kGzip or kZstd.
  static Result<std::unique_ptr<LayerWriter>> Create(ByteSink& sink, Compression compression);
  ~LayerWriter();

  // Adds an entry: `path` relative (no leading '/'), `st` gives type, mode, owner, size, mtime
  // and rdev. `link` is the symlink target or, with `hardlink`, the earlier path it links to.
  // For regular files (not hardlinks) `data_fd` supplies st.st_size bytes.
  Status Add(const std::string& path, const struct stat& st, const Xattrs& xattrs,
             const std::string& link, bool hardlink, int data_fd);
  // An OCI whiteout for `path` (writes "<dir>/.wh.<name>").
  Status AddWhiteout(const std::string& path);
  // Ends the archive and the compression; returns sizes and digests.
  Result<LayerWriterResult> Finish();

 private:
  class Output;
  LayerWriter() = default;
  Status ArchiveStatus(const char* what);

  std::unique_ptr<Output> output_;
  struct archive* archive_ = nullptr;
  std::string buffer_;
  bool finished_ = false;
};

}  // namespace berth::snapshot
