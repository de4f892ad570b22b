#pragma once
// The input side of layer apply: media types, byte sources, decompression and the pipeline that
// feeds the tar parser.
//
// LayerStream runs decompression (ISA-L inflate for gzip, libzstd, or a plain copy) and the
// sha256 of the uncompressed bytes (the layer's diffID) on a thread of its own, into a bounded
// ring of chunks that the caller consumes: while the caller parses tar headers and writes files,
// the next megabytes are being inflated on the other core. Memory is bounded by the ring
// (chunks x chunk_size) plus the decompressor's state (zstd windows are capped at 128 MiB), so a
// decompression bomb costs time, never memory; `max_bytes` bounds the time too.
//
// Thread-safety: one consumer thread calls Next(); Cancel() may be called from any thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/digest.h"
#include "common/status.h"

namespace berth::snapshot {

enum class Compression { kNone, kGzip, kZstd };

inline constexpr std::string_view kMediaTypeLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kMediaTypeLayerGzip =
    "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kMediaTypeLayerZstd =
    "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kMediaTypeDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";

// The compression of a layer media type: the OCI layer types (tar, tar+gzip, tar+zstd, and their
// "nondistributable" variants) and Docker's (rootfs.diff.tar.gzip, rootfs.foreign.diff.tar.gzip,
// rootfs.diff.tar). INVALID_ARGUMENT for anything else.
Result<Compression> CompressionForMediaType(std::string_view media_type);
// Guesses from the first bytes (gzip and zstd magic numbers); kNone otherwise.
Compression DetectCompression(std::string_view head);
std::string_view CompressionName(Compression compression);

// Where compressed bytes come from.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `size` bytes; 0 only at the end. Errors name the source.
  virtual Result<size_t> Read(uint8_t* buffer, size_t size) = 0;
};

// Reads an fd (not owned) from its current offset to EOF: blobs from the content service, files
// in tests and the CLI. Uses pread with its own offset, so an fd shared with other readers is
// not disturbed; pipes are read with read().
class FdSource : public ByteSource {
 public:
  explicit FdSource(int fd, std::string name = "layer");
  Result<size_t> Read(uint8_t* buffer, size_t size) override;

 private:
  int fd_;
  std::string name_;
  int64_t offset_ = -1;  // -1: not seekable, use read()
};

// Bytes in memory (fuzzing, small tests).
class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  Result<size_t> Read(uint8_t* buffer, size_t size) override;

 private:
  std::string_view data_;
};

// Produces uncompressed bytes from a ByteSource (decompress.cc).
class Decompressor {
 public:
  virtual ~Decompressor() = default;
  // Fills up to `size` bytes; 0 only at the end of the stream. INVALID_ARGUMENT for corrupt or
  // truncated input.
  virtual Result<size_t> Read(uint8_t* out, size_t size) = 0;
};
Result<std::unique_ptr<Decompressor>> MakeDecompressor(Compression compression, ByteSource& source);

struct LayerStreamOptions {
  Compression compression = Compression::kNone;
  size_t chunk_size = size_t{1} << 20;
  size_t chunks = 4;
  // Uncompressed bytes allowed (0: no limit). Past it the stream fails RESOURCE_EXHAUSTED.
  uint64_t max_bytes = 0;
};

class LayerStream {
 public:
  // Starts the decompression thread.
  LayerStream(ByteSource& source, LayerStreamOptions options);
  ~LayerStream();  // cancels and joins
  LayerStream(const LayerStream&) = delete;
  LayerStream& operator=(const LayerStream&) = delete;

  // The next uncompressed bytes, valid until the next call; empty at the end of the stream.
  // Once the end was returned, diff_id() and size() describe the whole stream.
  Result<std::string_view> Next();
  // Reads and discards everything left (hashing it), so the diffID covers the whole stream.
  Status Drain();
  // Makes the producer stop; Next() then fails CANCELLED.
  void Cancel();

  const Digest& diff_id() const { return diff_id_; }
  uint64_t size() const { return size_; }

 private:
  struct Chunk {
    std::unique_ptr<uint8_t[]> data;
    size_t size = 0;
  };
  void Produce();
  Status Fill(Decompressor& decompressor, Chunk& chunk, bool& end);

  ByteSource& source_;
  LayerStreamOptions options_;
  std::vector<Chunk> chunks_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<size_t> free_;    // guarded
  std::deque<size_t> filled_;   // FIFO, guarded
  bool producer_done_ = false;  // guarded
  bool cancelled_ = false;      // guarded
  Status producer_status_;      // guarded
  int held_ = -1;               // the chunk the consumer holds (consumer thread)
  bool ended_ = false;          // consumer thread
  Digest diff_id_;
  uint64_t size_ = 0;
  std::thread thread_;
};

}  // namespace berth::snapshot
