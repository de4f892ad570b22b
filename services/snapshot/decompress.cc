// Media types, byte sources and the three decompressors behind LayerStream.
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"
#include "services/snapshot/layer_stream.h"

namespace berth::snapshot {
namespace {

constexpr size_t kInputBuffer = 256 * 1024;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class PlainDecompressor : public Decompressor {
 public:
  explicit PlainDecompressor(ByteSource& source) : source_(source) {}
  Result<size_t> Read(uint8_t* out, size_t size) override { return source_.Read(out, size); }

 private:
  ByteSource& source_;
};

// gzip with ISA-L. Handles concatenated members (gzip -c a b > c), as GNU gzip does.
class GzipDecompressor : public Decompressor {
 public:
  explicit GzipDecompressor(ByteSource& source)
      : source_(source), input_(new uint8_t[kInputBuffer]), state_(new inflate_state) {
    isal_inflate_init(state_.get());
    state_->crc_flag = ISAL_GZIP;
  }

  Result<size_t> Read(uint8_t* out, size_t size) override {
    state_->next_out = out;
    state_->avail_out = static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX));
    while (state_->avail_out > 0 && !ended_) {
      if (state_->avail_in == 0) {
        BERTH_ASSIGN_OR_RETURN(size_t n, source_.Read(input_.get(), kInputBuffer));
        if (n == 0) {
          if (in_member_) return Status(Code::kInvalidArgument, "gzip stream is truncated");
          if (members_ == 0) return Status(Code::kInvalidArgument, "gzip stream is empty");
          ended_ = true;
          break;
        }
        state_->next_in = input_.get();
        state_->avail_in = static_cast<uint32_t>(n);
      }
      if (!in_member_) StartMember();
      int rc = isal_inflate(state_.get());
      if (rc != ISAL_DECOMP_OK) {
        return Error(Code::kInvalidArgument, "gzip stream is corrupt (isal_inflate error {})", rc);
      }
      if (state_->block_state == ISAL_BLOCK_FINISH) in_member_ = false;
    }
    return static_cast<size_t>(state_->next_out - out);
  }

 private:
  // Starts the next member on the input left in the state.
  void StartMember() {
    uint8_t* next_in = state_->next_in;
    uint32_t avail_in = state_->avail_in;
    uint8_t* next_out = state_->next_out;
    uint32_t avail_out = state_->avail_out;
    isal_inflate_reset(state_.get());
    state_->crc_flag = ISAL_GZIP;
    state_->next_in = next_in;
    state_->avail_in = avail_in;
    state_->next_out = next_out;
    state_->avail_out = avail_out;
    in_member_ = true;
    ++members_;
  }

  ByteSource& source_;
  std::unique_ptr<uint8_t[]> input_;
  std::unique_ptr<inflate_state> state_;
  bool in_member_ = false;
  bool ended_ = false;
  uint64_t members_ = 0;
};

class ZstdDecompressor : public Decompressor {
 public:
  explicit ZstdDecompressor(ByteSource& source)
      : source_(source), input_(new uint8_t[kInputBuffer]), dctx_(ZSTD_createDCtx()) {
    // 2^27 = 128 MiB: the most a frame may ask for (zstd's own default limit, made explicit).
    ZSTD_DCtx_setParameter(dctx_.get(), ZSTD_d_windowLogMax, 27);
  }

  Result<size_t> Read(uint8_t* out, size_t size) override {
    ZSTD_outBuffer output{out, size, 0};
    while (output.pos < output.size) {
      if (in_.pos == in_.size) {
        BERTH_ASSIGN_OR_RETURN(size_t n, source_.Read(input_.get(), kInputBuffer));
        if (n == 0) {
          if (!frame_done_) return Status(Code::kInvalidArgument, "zstd stream is truncated");
          break;
        }
        in_ = ZSTD_inBuffer{input_.get(), n, 0};
      }
      size_t rc = ZSTD_decompressStream(dctx_.get(), &output, &in_);
      if (ZSTD_isError(rc)) {
        return Error(Code::kInvalidArgument, "zstd stream is corrupt: {}", ZSTD_getErrorName(rc));
      }
      frame_done_ = rc == 0;
    }
    return output.pos;
  }

 private:
  ByteSource& source_;
  std::unique_ptr<uint8_t[]> input_;
  CPtr<ZSTD_DCtx, ZSTD_freeDCtx> dctx_;
  ZSTD_inBuffer in_{nullptr, 0, 0};
  bool frame_done_ = false;  // an empty input is not a zstd stream
};

}  // namespace

Result<Compression> CompressionForMediaType(std::string_view media_type) {
  static constexpr std::string_view kOciPrefix = "application/vnd.oci.image.layer.";
  static constexpr std::string_view kDockerPrefix = "application/vnd.docker.image.rootfs.";
  bool oci = media_type.rfind(kOciPrefix, 0) == 0;
  bool docker = media_type.rfind(kDockerPrefix, 0) == 0;
  if (oci || docker) {
    if (EndsWith(media_type, "tar+gzip") || EndsWith(media_type, "tar.gzip")) {
      return Compression::kGzip;
    }
    if (EndsWith(media_type, "tar+zstd")) return Compression::kZstd;
    if (EndsWith(media_type, ".tar")) return Compression::kNone;
  }
  return Error(Code::kInvalidArgument,
               "media type \"{}\" is not a layer Berth can apply (OCI or Docker layer tar, "
               "uncompressed, gzip or zstd)",
               media_type);
}

Compression DetectCompression(std::string_view head) {
  if (head.size() >= 2 && static_cast<uint8_t>(head[0]) == 0x1f &&
      static_cast<uint8_t>(head[1]) == 0x8b) {
    return Compression::kGzip;
  }
  if (head.size() >= 4 && head.substr(0, 4) == std::string_view("\x28\xb5\x2f\xfd", 4)) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

std::string_view CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kZstd:
      return "zstd";
    case Compression::kNone:
      break;
  }
  return "none";
}

FdSource::FdSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
  offset_ = ::lseek(fd_, 0, SEEK_CUR);
  if (offset_ >= 0) ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

Result<size_t> FdSource::Read(uint8_t* buffer, size_t size) {
  for (;;) {
    ssize_t n = offset_ >= 0 ? ::pread(fd_, buffer, size, offset_) : ::read(fd_, buffer, size);
    if (n >= 0) {
      if (offset_ >= 0) offset_ += n;
      return static_cast<size_t>(n);
    }
    if (errno != EINTR) return ErrnoStatus(errno, "read " + name_);
  }
}

Result<size_t> MemorySource::Read(uint8_t* buffer, size_t size) {
  size_t n = std::min(size, data_.size());
  std::memcpy(buffer, data_.data(), n);
  data_.remove_prefix(n);
  return n;
}

Result<std::unique_ptr<Decompressor>> MakeDecompressor(Compression compression,
                                                       ByteSource& source) {
  switch (compression) {
    case Compression::kGzip:
      return std::unique_ptr<Decompressor>(new GzipDecompressor(source));
    case Compression::kZstd:
      return std::unique_ptr<Decompressor>(new ZstdDecompressor(source));
    case Compression::kNone:
      break;
  }
  return std::unique_ptr<Decompressor>(new PlainDecompressor(source));
}

}  // namespace berth::snapshot
