// LocalStore's Writer: appends to ingest/<h>/data while hashing, commits by verify + fsync +
// atomic rename.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/fs.h"
#include "services/content/local_internal.h"
#include "services/content/local_store.h"

namespace berth::content {

namespace {

constexpr size_t kHashChunk = 1 << 20;

class LocalWriter final : public Writer {
 public:
  LocalWriter(LocalStore& store, IngestHandle handle, IngestHasher hasher)
      : store_(store), handle_(std::move(handle)), hasher_(std::move(hasher)) {}
  ~LocalWriter() override { store_.Unlock(handle_.ref); }

  Status Write(std::string_view data) override;
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
  Result<Digest> DigestFor(std::string_view algorithm);
  Status Verify(uint64_t size, const Digest& want, Digest* got);

  LocalStore& store_;
  IngestHandle handle_;
  IngestHasher hasher_;
  bool committed_ = false;
};

Status LocalWriter::Write(std::string_view data) {
  if (committed_) return Committed();
  uint64_t& offset = handle_.status.offset;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(handle_.data.get(), data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      // Keep the ingest consistent with the hash: drop the part of `data` that made it.
      if (done > 0 && ::ftruncate(handle_.data.get(), static_cast<off_t>(offset)) != 0) {
        spdlog::warn("cannot cut ingest ref={} back to {}: {}", handle_.ref, offset,
                     std::strerror(errno));
      }
      return ErrnoStatus(err, fmt::format("write ref \"{}\" at offset {}", handle_.ref, offset));
    }
    done += static_cast<size_t>(n);
  }
  hasher_.Update(data.data(), data.size());
  offset += data.size();
  return Status::Ok();
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
  if (committed_) return Committed();
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
  if (committed_) return Committed();
  if (size > handle_.status.offset) {
    return Error(Code::kOutOfRange, "cannot truncate ref \"{}\" to {}: only {} bytes written",
                 handle_.ref, size, handle_.status.offset);
  }
  if (::ftruncate(handle_.data.get(), static_cast<off_t>(size)) != 0) {
    return ErrnoStatus(errno, "truncate " + handle_.dir + "/data");
  }
  handle_.status.offset = size;
  hasher_.Reset();
  return HashPrefix(handle_.data.get(), size, hasher_);
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

Status HashPrefix(int fd, uint64_t size, IngestHasher& hasher) {
  std::vector<char> buffer(kHashChunk);
  uint64_t offset = 0;
  while (offset < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - offset));
    ssize_t n = ::pread(fd, buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "read ingest data");
    if (n == 0) return Error(Code::kDataLoss, "ingest data ends at {}, expected {}", offset, size);
    hasher.Update(buffer.data(), static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
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
