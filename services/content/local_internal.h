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

// Removes what a crash can leave in ingest/: half-created ingest dirs (".tmp-*") and ingests
// without a ref file.
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

// Hashes the first `size` bytes of `fd` into `hasher` (resuming an ingest after a restart).
Status HashPrefix(int fd, uint64_t size, IngestHasher& hasher);

// What LocalStore knows of an ingest when it hands it to a writer.
struct IngestHandle {
  std::string ref;
  std::string dir;  // ingest/<sha256(ref)>
  UniqueFd data;    // O_RDWR
  IngestStatus status;
};

// The writer for a locked ref; it unlocks the ref when destroyed. Rehashes existing data.
Result<std::unique_ptr<Writer>> MakeLocalWriter(LocalStore& store, IngestHandle handle);

}  // namespace berth::content
