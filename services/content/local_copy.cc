// Moving bytes for LocalStore's writer: hashing ranges of ingest data, and copying a source file
// into it inside the kernel (see local_internal.h).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "services/content/local_internal.h"

namespace berth::content {

Result<size_t> PreadFull(int fd, char* buffer, size_t size, uint64_t offset,
                         std::string_view what) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, buffer + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, fmt::format("read {}", what));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status HashRange(int fd, uint64_t offset, uint64_t size, IngestHasher& hasher,
                 std::vector<char>& buffer) {
  if (buffer.empty()) buffer.resize(kHashChunk);
  for (uint64_t done = 0; done < size;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - done));
    BERTH_ASSIGN_OR_RETURN(size_t n,
                           PreadFull(fd, buffer.data(), want, offset + done, "ingest data"));
    if (n < want) {
      return Error(Code::kDataLoss, "ingest data ends at {}, expected {}", offset + done + n,
                   offset + size);
    }
    hasher.Update(buffer.data(), n);
    done += n;
  }
  return Status::Ok();
}

Status HashPrefix(int fd, uint64_t size, IngestHasher& hasher) {
  std::vector<char> buffer;
  return HashRange(fd, 0, size, hasher, buffer);
}

Result<uint64_t> CopyInKernel(int source, uint64_t source_offset, int target,
                              uint64_t target_offset, uint64_t size) {
  loff_t in = static_cast<loff_t>(source_offset);
  loff_t out = static_cast<loff_t>(target_offset);
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::copy_file_range(source, &in, target, &out, size - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      bool unsupported = errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP ||
                         errno == ENOSYS || errno == EBADF;
      if (done == 0 && unsupported) {
        return Status(Code::kUnimplemented, "copy_file_range cannot copy between these files");
      }
      return ErrnoStatus(errno, "copy the source file into the ingest");
    }
    if (n == 0) break;  // the source ended
    done += static_cast<uint64_t>(n);
  }
  return done;
}

}  // namespace berth::content
