#include "services/snapshot/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <isa-l/igzip_lib.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>

#include "common/fs.h"
#include "common/unique_fd.h"

namespace berth::snapshot {
namespace {

constexpr size_t kBlock = size_t{1} << 20;

}  // namespace

Status FdSink::Write(std::string_view data) { return WriteAll(fd_, data, "layer output"); }

// Hashes the tar, compresses it (ISA-L gzip or libzstd) and hands the blob to the sink in
// ~1 MiB writes.
class LayerWriter::Output {
 public:
  Output(ByteSink& sink, Compression compression) : sink_(sink), compression_(compression) {
    out_.reset(new uint8_t[kBlock]);
    if (compression == Compression::kGzip) {
      level_buf_.reset(new uint8_t[ISAL_DEF_LVL1_DEFAULT]);
      isal_deflate_init(&stream_);
      stream_.gzip_flag = IGZIP_GZIP;
      stream_.level = 1;
      stream_.level_buf = level_buf_.get();
      stream_.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    }
  }

  // zstd at its default level (3): about gzip -6's size at several times its speed. The frame
  // records the content checksum so `zstd -t` and other readers can verify it.
  Status InitZstd() {
    zstd_.reset(ZSTD_createCCtx());
    if (!zstd_) return Status(Code::kResourceExhausted, "zstd: cannot allocate a context");
    size_t rc = ZSTD_CCtx_setParameter(zstd_.get(), ZSTD_c_compressionLevel, ZSTD_CLEVEL_DEFAULT);
    if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(zstd_.get(), ZSTD_c_checksumFlag, 1);
    if (ZSTD_isError(rc)) return Error(Code::kInternal, "zstd: {}", ZSTD_getErrorName(rc));
    return Status::Ok();
  }

  Status Write(const void* data, size_t size, bool end) {
    tar_hash_.Update(data, size);
    tar_size_ += size;
    switch (compression_) {
      case Compression::kGzip:
        return Deflate(data, size, end);
      case Compression::kZstd:
        return ZstdCompress(data, size, end);
      case Compression::kNone:
        break;
    }
    return Emit(static_cast<const uint8_t*>(data), size);
  }

  Status Finish() {
    if (compression_ != Compression::kNone) BERTH_RETURN_IF_ERROR(Write(nullptr, 0, true));
    return FlushOut();
  }

  // The first failure of Write from the libarchive callback (libarchive only sees -1).
  Status error;

  LayerWriterResult Result() {
    bool compressed = compression_ != Compression::kNone;
    LayerWriterResult result;
    result.diff_id = tar_hash_.Finish();
    result.tar_size = tar_size_;
    result.digest = compressed ? blob_hash_.Finish() : result.diff_id;
    result.blob_size = compressed ? blob_size_ : tar_size_;
    return result;
  }

 private:
  Status Deflate(const void* data, size_t size, bool end) {
    stream_.next_in = static_cast<uint8_t*>(const_cast<void*>(data));
    stream_.avail_in = static_cast<uint32_t>(size);
    stream_.end_of_stream = end ? 1 : 0;
    stream_.flush = NO_FLUSH;
    do {
      stream_.next_out = out_.get() + pending_;
      stream_.avail_out = static_cast<uint32_t>(kBlock - pending_);
      if (isal_deflate(&stream_) != COMP_OK) {
        return Status(Code::kInternal, "gzip compression failed");
      }
      pending_ = kBlock - stream_.avail_out;
      if (pending_ == kBlock) BERTH_RETURN_IF_ERROR(FlushOut());
    } while (stream_.avail_in > 0 || (end && stream_.internal_state.state != ZSTATE_END));
    return Status::Ok();
  }

  Status ZstdCompress(const void* data, size_t size, bool end) {
    ZSTD_inBuffer in{data, size, 0};
    ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_continue;
    while (true) {
      ZSTD_outBuffer out{out_.get() + pending_, kBlock - pending_, 0};
      size_t left = ZSTD_compressStream2(zstd_.get(), &out, &in, mode);
      if (ZSTD_isError(left)) {
        return Error(Code::kInternal, "zstd compression failed: {}", ZSTD_getErrorName(left));
      }
      pending_ += out.pos;
      if (pending_ == kBlock) BERTH_RETURN_IF_ERROR(FlushOut());
      // Done when the input is consumed and, at the end, the frame is flushed completely.
      if (in.pos == in.size && (!end || left == 0)) return Status::Ok();
    }
  }

  Status Emit(const uint8_t* data, size_t size) {
    while (size > 0) {
      size_t n = std::min(size, kBlock - pending_);
      std::memcpy(out_.get() + pending_, data, n);
      pending_ += n;
      data += n;
      size -= n;
      if (pending_ == kBlock) BERTH_RETURN_IF_ERROR(FlushOut());
    }
    return Status::Ok();
  }

  Status FlushOut() {
    if (pending_ == 0) return Status::Ok();
    std::string_view block(reinterpret_cast<const char*>(out_.get()), pending_);
    if (compression_ != Compression::kNone) {
      blob_hash_.Update(block);
      blob_size_ += pending_;
    }
    pending_ = 0;
    return sink_.Write(block);
  }

  ByteSink& sink_;
  Compression compression_;
  std::unique_ptr<uint8_t[]> out_;
  size_t pending_ = 0;
  std::unique_ptr<uint8_t[]> level_buf_;
  isal_zstream stream_{};
  CPtr<ZSTD_CCtx, ZSTD_freeCCtx> zstd_;
  Hasher tar_hash_;
  Hasher blob_hash_;
  uint64_t tar_size_ = 0;
  uint64_t blob_size_ = 0;
};

Result<std::unique_ptr<LayerWriter>> LayerWriter::Create(ByteSink& sink, Compression compression) {
  std::unique_ptr<LayerWriter> writer(new LayerWriter());
  writer->output_ = std::make_unique<Output>(sink, compression);
  if (compression == Compression::kZstd) BERTH_RETURN_IF_ERROR(writer->output_->InitZstd());
  writer->archive_ = archive_write_new();
  if (!writer->archive_) return Status(Code::kInternal, "archive_write_new failed");
  archive_write_set_format_pax(writer->archive_);
  archive_write_set_bytes_per_block(writer->archive_, 0);
  auto write_cb = [](struct archive*, void* client, const void* buffer, size_t size) -> la_ssize_t {
    auto* output = static_cast<Output*>(client);
    Status status = output->Write(buffer, size, false);
    if (status.ok()) return static_cast<la_ssize_t>(size);
    if (output->error.ok()) output->error = status;
    return -1;
  };
  if (archive_write_open(writer->archive_, writer->output_.get(), nullptr, write_cb, nullptr) !=
      ARCHIVE_OK) {
    return writer->ArchiveStatus("open tar writer");
  }
  return writer;
}

LayerWriter::~LayerWriter() {
  if (archive_) archive_write_free(archive_);
}

Status LayerWriter::ArchiveStatus(const char* what) {
  if (output_ && !output_->error.ok()) return output_->error;
  const char* message = archive_error_string(archive_);
  return Error(Code::kInternal, "{}: {}", what, message ? message : "unknown error");
}

Status LayerWriter::Add(const std::string& path, const struct stat& st, const Xattrs& xattrs,
                        const std::string& link, bool hardlink, int data_fd) {
  CPtr<struct archive_entry, archive_entry_free> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), path.c_str());
  archive_entry_set_uid(entry.get(), st.st_uid);
  archive_entry_set_gid(entry.get(), st.st_gid);
  archive_entry_set_perm(entry.get(), st.st_mode & 07777);
  archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  for (const auto& [key, value] : xattrs) {
    archive_entry_xattr_add_entry(entry.get(), key.c_str(), value.data(), value.size());
  }
  bool data = false;
  if (hardlink) {
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_hardlink(entry.get(), link.c_str());
    archive_entry_set_size(entry.get(), 0);
  } else {
    archive_entry_set_filetype(entry.get(), st.st_mode & S_IFMT);
    if (S_ISLNK(st.st_mode)) archive_entry_set_symlink(entry.get(), link.c_str());
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) archive_entry_set_rdev(entry.get(), st.st_rdev);
    data = S_ISREG(st.st_mode);
    archive_entry_set_size(entry.get(), data ? st.st_size : 0);
  }
  if (archive_write_header(archive_, entry.get()) < ARCHIVE_WARN) {
    return ArchiveStatus("write tar header");
  }
  if (!data || st.st_size == 0) return Status::Ok();
  if (buffer_.empty()) buffer_.resize(kBlock);
  off_t done = 0;
  while (done < st.st_size) {
    ssize_t n =
        ::pread(data_fd, buffer_.data(), std::min<off_t>(buffer_.size(), st.st_size - done), done);
    if (n < 0) return ErrnoStatus(errno, "read " + path);
    if (n == 0) return Error(Code::kAborted, "{} shrank while it was being read", path);
    if (archive_write_data(archive_, buffer_.data(), n) < 0) return ArchiveStatus("write tar data");
    done += n;
  }
  return Status::Ok();
}

Status LayerWriter::AddWhiteout(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string name = slash == std::string::npos
                         ? ".wh." + path
                         : path.substr(0, slash + 1) + ".wh." + path.substr(slash + 1);
  struct stat st {};
  st.st_mode = S_IFREG | 0644;
  return Add(name, st, {}, "", false, -1);
}

Result<LayerWriterResult> LayerWriter::Finish() {
  if (finished_) return Status(Code::kFailedPrecondition, "layer already finished");
  finished_ = true;
  if (archive_write_close(archive_) != ARCHIVE_OK) return ArchiveStatus("finish tar");
  BERTH_RETURN_IF_ERROR(output_->Finish());
  return output_->Result();
}

}  // namespace berth::snapshot
