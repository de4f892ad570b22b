#pragma once
// Pieces shared by LocalStore's files (local_store.cc, local_ingest.cc, local_writer.cc).
// Not part of the content interface.

#include <openssl/evp.h>
#include <time.h>

#include <memory>
#include <string>
#include <vector>

#include "common/digest.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "services/content/content.h"

namespace berth::content {

class LocalStore;

inline int64_t TimespecNanos(const timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Names in a directory, without "." and "..".
Result<std::vector<std::string>> ListDir(const std::string& dir);

// Applies Update's field paths: the labels that result from `current` and `requested`.
Result<Labels> ApplyLabelPaths(const Labels& current, const Labels& requested,
                               const std::vector<std::string>& fieldpaths);

// Removes what a crash can leave in ingest/: half-created ingest dirs (".tmp-*"), ingests
// without a ref file and ingests without data (committed, but not yet removed).
Status TidyIngests(const std::string& ingest_root);

// Incremental hash whose current value can be read without ending it.
class IngestHasher {
 public:
  static Result<IngestHasher> Create(std::string_view algorithm);
  void Update(const void* data, size_t size);
  void Reset();
  Digest Peek() const;
  const std::string& algorithm() const { return algorithm_; }

 private:
  IngestHasher(std::string algorithm, const EVP_MD* md);
  std::string algorithm_;
  const EVP_MD* md_;
  CPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx_;
};

// --- local_copy.cc ---

// Bytes hashed per read when hashing ingest data from disk.
inline constexpr size_t kHashChunk = 1 << 20;

// Reads up to `size` bytes at `offset`; fewer only at the end of the file. `what` names the file
// in errors.
Result<size_t> PreadFull(int fd, char* buffer, size_t size, uint64_t offset, std::string_view what);
// Hashes bytes [offset, offset + size) of `fd` into `hasher`, reading through `buffer` (sized on
// first use). DATA_LOSS when the file is shorter.
Status HashRange(int fd, uint64_t offset, uint64_t size, IngestHasher& hasher,
                 std::vector<char>& buffer);
// Hashes the first `size` bytes of `fd` into `hasher` (resuming an ingest after a restart).
Status HashPrefix(int fd, uint64_t size, IngestHasher& hasher);
// Copies `size` bytes of `source` at `source_offset` to `target` at `target_offset` inside the
// kernel (copy_file_range: no trip through user space, a reflink where the file system can).
// Returns the bytes copied, fewer than `size` only when the source ends first. UNIMPLEMENTED
// when this pair of files cannot be copied that way (e.g. different file systems) and nothing
// was copied: the caller reads and writes instead.
Result<uint64_t> CopyInKernel(int source, uint64_t source_offset, int target,
                              uint64_t target_offset, uint64_t size);

// What LocalStore knows of an ingest when it hands it to a writer.
struct IngestHandle {
  std::string ref;
  std::string dir;  // ingest/<sha256(ref)>
  UniqueFd data;    // O_RDWR
  IngestStatus status;
  int source_fd = -1;  // WriterOptions::source_fd (borrowed), -1 when none
};

// The writer for a locked ref; it unlocks the ref when destroyed. Rehashes existing data.
Result<std::unique_ptr<Writer>> MakeLocalWriter(LocalStore& store, IngestHandle handle);

}  // namespace berth::content
