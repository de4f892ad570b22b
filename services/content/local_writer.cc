// LocalStore's Writer: appends to ingest/<h>/data while hashing, commits by verify + fsync +
// atomic rename.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/fs.h"
#include "services/content/local_internal.h"
#include "services/content/local_store.h"

namespace berth::content {

namespace {

// WriteFrom's unit: copied inside the kernel, then hashed from the ingest data. Without an
// in-kernel copy the chunk is read and written in kHashChunk pieces.
constexpr uint64_t kCopyChunk = 8 << 20;

class LocalWriter final : public Writer {
 public:
  LocalWriter(LocalStore& store, IngestHandle handle, IngestHasher hasher)
      : store_(store), handle_(std::move(handle)), hasher_(std::move(hasher)) {}
  ~LocalWriter() override { store_.Unlock(handle_.ref); }

  Status Write(std::string_view data) override;
  Status WriteFrom(uint64_t source_offset, uint64_t size) override;
  Status Commit(uint64_t size, const Digest& expected, const Labels& labels) override;
  Result<IngestStatus> GetStatus() override;
  Result<Digest> CurrentDigest() override {
    if (committed_) return Committed();
    return hasher_.Peek();
  }
  Status Truncate(uint64_t size) override;

 private:
  Status Committed() const {
    return Error(Code::kFailedPrecondition, "ref \"{}\" was already committed", handle_.ref);
  }
  // OK while the writer may change the ingest.
  Status Usable() const { return committed_ ? Committed() : broken_; }
  Result<Digest> DigestFor(std::string_view algorithm);
  Status Verify(uint64_t size, const Digest& want, Digest* got);
  // WriteFrom's two ways of appending one chunk of the source.
  Status CopyChunkInKernel(uint64_t source_offset, uint64_t size);
  Status CopyChunkThroughBuffer(uint64_t source_offset, uint64_t size);
  // Cuts the data back to the offset after a failed append, so data and hash agree again.
  void CutBack();

  LocalStore& store_;
  IngestHandle handle_;
  IngestHasher hasher_;
  std::vector<char> copy_buffer_;  // WriteFrom's, allocated on first use
  bool in_kernel_copy_ = true;     // false once copy_file_range said it cannot
  bool committed_ = false;
  Status broken_;  // set when the hash no longer matches the data: reopen the ref
};

Status LocalWriter::Write(std::string_view data) {
  BERTH_RETURN_IF_ERROR(Usable());
  uint64_t& offset = handle_.status.offset;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(handle_.data.get(), data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      // Keep the ingest consistent with the hash: drop the part of `data` that made it.
      if (done > 0) CutBack();
      return ErrnoStatus(err, fmt::format("write ref \"{}\" at offset {}", handle_.ref, offset));
    }
    done += static_cast<size_t>(n);
  }
  hasher_.Update(data.data(), data.size());
  offset += data.size();
  return Status::Ok();
}

Status LocalWriter::WriteFrom(uint64_t source_offset, uint64_t size) {
  BERTH_RETURN_IF_ERROR(Usable());
  int source = handle_.source_fd;
  if (source < 0) {
    return Error(Code::kFailedPrecondition, "ref \"{}\" was opened without a source file",
                 handle_.ref);
  }
  struct stat st {};
  if (::fstat(source, &st) != 0) return ErrnoStatus(errno, "stat the source file");
  uint64_t source_size = static_cast<uint64_t>(st.st_size);
  if (source_offset > source_size || size > source_size - source_offset) {
    return Error(Code::kOutOfRange, "cannot copy {} bytes at {} of a source file of {} bytes", size,
                 source_offset, source_size);
  }
  (void)::posix_fadvise(source, static_cast<off_t>(source_offset), static_cast<off_t>(size),
                        POSIX_FADV_SEQUENTIAL);
  for (uint64_t done = 0; done < size; done += std::min<uint64_t>(kCopyChunk, size - done)) {
    uint64_t want = std::min<uint64_t>(kCopyChunk, size - done);
    if (in_kernel_copy_) {
      Status copied = CopyChunkInKernel(source_offset + done, want);
      if (copied.code() != Code::kUnimplemented) {
        BERTH_RETURN_IF_ERROR(copied);
        continue;
      }
      in_kernel_copy_ = false;  // this source and this ingest: read and write from now on
    }
    BERTH_RETURN_IF_ERROR(CopyChunkThroughBuffer(source_offset + done, want));
  }
  return Status::Ok();
}

// The chunk is hashed from the ingest data after the copy: the bytes hashed are the bytes kept,
// whatever the source does meanwhile.
Status LocalWriter::CopyChunkInKernel(uint64_t source_offset, uint64_t size) {
  uint64_t offset = handle_.status.offset;
  auto copied = CopyInKernel(handle_.source_fd, source_offset, handle_.data.get(), offset, size);
  if (!copied.ok()) {
    if (copied.status().code() != Code::kUnimplemented) CutBack();
    return copied.status();
  }
  if (*copied < size) {
    CutBack();
    return Error(Code::kOutOfRange, "the source file ended at {} while copying it",
                 source_offset + *copied);
  }
  Status hashed = HashRange(handle_.data.get(), offset, size, hasher_, copy_buffer_);
  if (!hashed.ok()) {
    CutBack();
    // The hasher may have taken part of the chunk: rebuild it from the data that stays.
    hasher_.Reset();
    Status rehashed = HashPrefix(handle_.data.get(), offset, hasher_);
    if (!rehashed.ok()) broken_ = rehashed;
    return hashed;
  }
  handle_.status.offset += size;
  return Status::Ok();
}

Status LocalWriter::CopyChunkThroughBuffer(uint64_t source_offset, uint64_t size) {
  if (copy_buffer_.empty()) copy_buffer_.resize(kHashChunk);
  for (uint64_t done = 0; done < size;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(copy_buffer_.size(), size - done));
    BERTH_ASSIGN_OR_RETURN(size_t n, PreadFull(handle_.source_fd, copy_buffer_.data(), want,
                                               source_offset + done, "the source file"));
    if (n < want) {
      return Error(Code::kOutOfRange, "the source file ended at {} while copying it",
                   source_offset + done + n);
    }
    // The bytes hashed are the bytes in this buffer, whatever the source does meanwhile.
    BERTH_RETURN_IF_ERROR(Write(std::string_view(copy_buffer_.data(), n)));
    done += n;
  }
  return Status::Ok();
}

void LocalWriter::CutBack() {
  if (::ftruncate(handle_.data.get(), static_cast<off_t>(handle_.status.offset)) != 0) {
    spdlog::warn("cannot cut ingest ref={} back to {}: {}", handle_.ref, handle_.status.offset,
                 std::strerror(errno));
  }
}

Result<Digest> LocalWriter::DigestFor(std::string_view algorithm) {
  if (algorithm == hasher_.algorithm()) return hasher_.Peek();
  BERTH_ASSIGN_OR_RETURN(IngestHasher other, IngestHasher::Create(algorithm));
  BERTH_RETURN_IF_ERROR(HashPrefix(handle_.data.get(), handle_.status.offset, other));
  return other.Peek();
}

Status LocalWriter::Verify(uint64_t size, const Digest& want, Digest* got) {
  uint64_t offset = handle_.status.offset;
  uint64_t want_size = size != 0 ? size : handle_.status.total;
  if (want_size != 0 && want_size != offset) {
    return Error(Code::kFailedPrecondition,
                 "commit of ref \"{}\": size mismatch: expected {} bytes, {} were written",
                 handle_.ref, want_size, offset);
  }
  BERTH_ASSIGN_OR_RETURN(*got, DigestFor(want.empty() ? hasher_.algorithm() : want.algorithm));
  if (!want.empty() && *got != want) {
    return Error(Code::kFailedPrecondition,
                 "commit of ref \"{}\": digest mismatch: expected {}, got {}", handle_.ref, want,
                 *got);
  }
  return Status::Ok();
}

Status LocalWriter::Commit(uint64_t size, const Digest& expected, const Labels& labels) {
  BERTH_RETURN_IF_ERROR(Usable());
  if (!expected.empty()) BERTH_RETURN_IF_ERROR(ValidateDigest(expected));
  BERTH_RETURN_IF_ERROR(ValidateLabels(labels));
  Digest got;
  BERTH_RETURN_IF_ERROR(Verify(size, expected.empty() ? handle_.status.expected : expected, &got));
  int fd = handle_.data.get();
  std::string data_path = handle_.dir + "/data";
  if (::fsync(fd) != 0) return ErrnoStatus(errno, "fsync " + data_path);
  // The blob's mtime is its commit time (Info.created_at); it is read-only from now on.
  if (::futimens(fd, nullptr) != 0) return ErrnoStatus(errno, "touch " + data_path);
  if (::fchmod(fd, 0444) != 0) return ErrnoStatus(errno, "chmod " + data_path);
  Status published = store_.Publish(got, data_path, labels);
  if (!published.ok()) {
    (void)::fchmod(fd, 0644);
    return published;
  }
  committed_ = true;
  Status removed = RemoveAll(handle_.dir);
  if (!removed.ok()) spdlog::warn("cannot remove committed ingest: {}", removed.message());
  return Status::Ok();
}

Result<IngestStatus> LocalWriter::GetStatus() {
  if (committed_) return Committed();
  IngestStatus status = handle_.status;
  struct stat st {};
  if (::fstat(handle_.data.get(), &st) == 0) status.updated_at = TimespecNanos(st.st_mtim);
  return status;
}

Status LocalWriter::Truncate(uint64_t size) {
  BERTH_RETURN_IF_ERROR(Usable());
  if (size > handle_.status.offset) {
    return Error(Code::kOutOfRange, "cannot truncate ref \"{}\" to {}: only {} bytes written",
                 handle_.ref, size, handle_.status.offset);
  }
  if (::ftruncate(handle_.data.get(), static_cast<off_t>(size)) != 0) {
    return ErrnoStatus(errno, "truncate " + handle_.dir + "/data");
  }
  handle_.status.offset = size;
  hasher_.Reset();
  Status rehashed = HashPrefix(handle_.data.get(), size, hasher_);
  if (!rehashed.ok()) broken_ = rehashed;
  return rehashed;
}

}  // namespace

IngestHasher::IngestHasher(std::string algorithm, const EVP_MD* md)
    : algorithm_(std::move(algorithm)), md_(md), ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) std::abort();  // out of memory
  Reset();
}

Result<IngestHasher> IngestHasher::Create(std::string_view algorithm) {
  if (algorithm == kSha256) return IngestHasher(std::string(algorithm), EVP_sha256());
  if (algorithm == kSha512) return IngestHasher(std::string(algorithm), EVP_sha512());
  return Error(Code::kInvalidArgument, "unsupported digest algorithm \"{}\"", algorithm);
}

void IngestHasher::Reset() {
  if (EVP_DigestInit_ex(ctx_.get(), md_, nullptr) != 1) std::abort();
}

void IngestHasher::Update(const void* data, size_t size) {
  if (size != 0 && EVP_DigestUpdate(ctx_.get(), data, size) != 1) std::abort();
}

Digest IngestHasher::Peek() const {
  CPtr<EVP_MD_CTX, EVP_MD_CTX_free> copy(EVP_MD_CTX_new());
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!copy || EVP_MD_CTX_copy_ex(copy.get(), ctx_.get()) != 1 ||
      EVP_DigestFinal_ex(copy.get(), md, &len) != 1) {
    std::abort();
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(len * 2, '0');
  for (unsigned int i = 0; i < len; ++i) {
    hex[2 * i] = kHex[md[i] >> 4];
    hex[2 * i + 1] = kHex[md[i] & 0xf];
  }
  return Digest{algorithm_, std::move(hex)};
}

Result<std::unique_ptr<Writer>> MakeLocalWriter(LocalStore& store, IngestHandle handle) {
  std::string_view algorithm =
      handle.status.expected.empty() ? kSha256 : std::string_view(handle.status.expected.algorithm);
  BERTH_ASSIGN_OR_RETURN(IngestHasher hasher, IngestHasher::Create(algorithm));
  if (handle.status.offset > 0) {
    BERTH_RETURN_IF_ERROR(HashPrefix(handle.data.get(), handle.status.offset, hasher));
  }
  return std::unique_ptr<Writer>(
      std::make_unique<LocalWriter>(store, std::move(handle), std::move(hasher)));
}

}  // namespace berth::content
