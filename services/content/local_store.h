#pragma once
// LocalStore: the content store on a local file system (the backend of berth-content).
//
// Layout under `root` (<state root>/content):
//   blobs/<alg>/<hex>        committed blobs, mode 0444; only ever created by an atomic rename
//                            of fully written, fsynced, digest-verified data
//   labels/<alg>/<hex>       the blob's labels as a JSON object (absent when it has none);
//                            written before the blob is renamed into place, removed after it
//   ingest/<sha256(ref)>/    one in-flight write: data, ref, total, expected, startedat
//                            (updated_at is the mtime of data)
//
// Crash safety: a crash (kill -9 or power loss) at any point leaves a blob either absent or
// complete; an interrupted ingest keeps what it wrote and is resumed by reopening its ref.
// Open() tidies what a crash can leave behind (half-created ingest dirs, labels of blobs that
// never got committed).
//
// Ref locks live in this object: one process owns a root at a time (berth-content).
// Thread-safe; Writers and ReaderAts must not outlive the store.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/unique_fd.h"
#include "services/content/content.h"

namespace berth::content {

class LocalStore final : public Store {
 public:
  // Opens the store at `root`, creating its directories. Errors name the path.
  static Result<std::unique_ptr<LocalStore>> Open(const std::string& root);

  Result<Info> GetInfo(const Digest& digest) override;
  Result<Info> Update(const Info& info, const std::vector<std::string>& fieldpaths) override;
  Status Walk(const WalkFn& fn, const std::vector<std::string>& filters = {}) override;
  Status Delete(const Digest& digest) override;
  Result<std::unique_ptr<ReaderAt>> OpenReader(const Digest& digest) override;
  Result<std::unique_ptr<Writer>> OpenWriter(const WriterOptions& options) override;
  Result<IngestStatus> GetStatus(const std::string& ref) override;
  Result<std::vector<IngestStatus>> ListStatuses(
      const std::vector<std::string>& filters = {}) override;
  Status Abort(const std::string& ref) override;

  // Removes ingests whose data was not written for `max_age`, and unreadable leftovers (e.g. a
  // dir without data) unchanged for as long; refs locked by a writer are kept, and so are the
  // refs in `keep` (those a lease holds). Returns how many were removed.
  Result<size_t> ExpireIngests(std::chrono::nanoseconds max_age,
                               const std::set<std::string>& keep = {});

  const std::string& root() const { return root_; }
  std::string BlobPath(const Digest& digest) const;
  std::string IngestDir(const std::string& ref) const;

  // --- used by LocalWriter ---
  // Moves the verified, fsynced file `data_path` to the blob path of `digest` (never replacing
  // an existing blob), with `labels` (merged into the existing blob's labels when it exists).
  Status Publish(const Digest& digest, const std::string& data_path, const Labels& labels);
  void Unlock(const std::string& ref);

 private:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}
  Status Init();
  bool TryLock(const std::string& ref);
  std::string LabelsPath(const Digest& digest) const;
  Result<Labels> ReadLabels(const Digest& digest) const;
  Status WriteLabels(const Digest& digest, const Labels& labels);
  Result<Info> StatBlob(const Digest& digest) const;
  Result<IngestStatus> ReadIngest(const std::string& dir) const;
  Result<std::unique_ptr<Writer>> CreateOrResume(const WriterOptions& options);
  // Removes ingest dirs that ReadIngest cannot read (no data, corrupt metadata) and that did not
  // change since `cutoff` (unix ns), except those of the refs in `keep`. Returns how many.
  Result<size_t> ExpireLeftovers(int64_t cutoff, const std::set<std::string>& keep);
  Status RemoveOrphans();

  std::string root_;
  std::mutex locks_mutex_;
  std::set<std::string> locked_refs_;
  // Serializes label files and blob publication, so concurrent commits of one digest and
  // label updates never lose labels.
  std::mutex meta_mutex_;
};

// A ReaderAt over a read-only fd (LocalStore's readers, and the Proxy's after ReadFd).
class FdReaderAt final : public ReaderAt {
 public:
  FdReaderAt(UniqueFd fd, uint64_t size) : fd_(std::move(fd)), size_(size) {}
  uint64_t Size() const override { return size_; }
  Result<size_t> ReadAt(uint64_t offset, void* buffer, size_t size) override;
  int fd() const override { return fd_.get(); }

 private:
  UniqueFd fd_;
  uint64_t size_;
};

}  // namespace berth::content
