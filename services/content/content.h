#pragma once
// The content store: every blob of every image (index, manifest, config, layers), kept by digest.
// Everything above it trusts that a blob it reads is exactly the bytes its digest names.
//
// Modelled on containerd's content.Store (Manager + Provider + Ingester + IngestManager).
//
// Glossary
//   blob      committed, immutable content named by its digest ("sha256:<hex>"; sha512 accepted).
//             Only bytes whose digest was verified are ever visible as a blob.
//   ref       a caller-chosen name for one write in flight (e.g. "pull-<digest>"); any non-empty
//             string up to 1024 bytes.
//   ingest    the state of a ref: the bytes written so far (offset), the optional expected size
//             (total) and digest (expected), start and update times. An ingest survives the
//             writer's disconnect and a restart of the store: a writer reopens the ref, reads the
//             offset from GetStatus() and continues from there.
//   labels    free-form key/value strings on a blob (GC references, owner tags). A key is non-
//             empty; key and value together at most 4096 bytes.
//
// Lifecycle of a write
//   OpenWriter(ref) locks the ref (one writer per ref at a time; a second gets UNAVAILABLE
//   "ref locked: ...") -> Write()... appends at the current offset, hashing as it goes ->
//   Commit(size, expected) verifies size and digest, makes the data durable and moves it into
//   place atomically; the ingest is gone -> destroying the Writer releases the lock (without a
//   Commit the ingest stays, resumable, until Abort() or expiry).
//
// Errors (berth::Status codes), common to all methods:
//   INVALID_ARGUMENT  malformed digest (never used as a path), empty or oversized ref, bad label,
//                     bad filter or field path;
//   NOT_FOUND         no such blob / no such ingest;
//   UNAVAILABLE       the ref is locked by another writer, or (Proxy) the service is unreachable;
//   RESOURCE_EXHAUSTED the disk is full (the ingest keeps what was written before);
//   INTERNAL          other I/O failures, with the path and errno text.
//
// Thread-safety: a Store is safe to use from many threads at once. A Writer or ReaderAt is used
// by one thread at a time. Every method blocks (disk or IPC): never call one on an event loop.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/digest.h"
#include "common/status.h"

namespace berth::content {

using Labels = std::map<std::string, std::string>;

// Limits: refs up to kMaxRefSize bytes; a label's key + value up to kMaxLabelSize bytes.
inline constexpr size_t kMaxRefSize = 1024;
inline constexpr size_t kMaxLabelSize = 4096;

struct Info {
  Digest digest{};
  uint64_t size = 0;
  int64_t created_at = 0;  // unix nanoseconds: when the blob was committed
  int64_t updated_at = 0;  // last label change; created_at when labels never changed
  Labels labels{};
};

struct IngestStatus {
  std::string ref{};
  uint64_t offset = 0;  // bytes written so far
  uint64_t total = 0;   // expected size, 0 when unknown
  Digest expected{};    // expected digest, empty when unknown
  int64_t started_at = 0;
  int64_t updated_at = 0;
};

struct WriterOptions {
  std::string ref{};
  uint64_t total = 0;  // 0: unknown
  Digest expected{};   // empty: unknown (then the blob is hashed with sha256)
  // Optional: a readable regular file the data comes from, for Writer::WriteFrom. Borrowed: the
  // caller keeps it open while the writer lives. Through the Proxy, berth-content gets its own
  // copy of the fd (SCM_RIGHTS) and reads the file itself, so the bytes never cross the socket.
  int source_fd = -1;
};

// Random access to a committed blob. Backed by a read-only fd of the blob in every backend, so a
// reader stays valid after the blob is deleted.
class ReaderAt {
 public:
  virtual ~ReaderAt() = default;
  virtual uint64_t Size() const = 0;
  // Reads up to `size` bytes at `offset` into `buffer`; returns how many were read, fewer only at
  // the end of the blob (0 at or past the end). Errors: INTERNAL on I/O failure.
  virtual Result<size_t> ReadAt(uint64_t offset, void* buffer, size_t size) = 0;
  // The read-only fd behind the reader (for sendfile/splice/mmap), or -1. Owned by the reader.
  virtual int fd() const = 0;
};

class Writer {
 public:
  // Releases the ref's lock. Without a Commit the ingest and its data stay (resumable).
  // After a failed Write, Commit or Truncate a writer may be unusable (the Proxy's stream ends
  // with the error): drop it, reopen the ref and continue from GetStatus().offset.
  virtual ~Writer() = default;

  // Appends `data` at the current offset. RESOURCE_EXHAUSTED when the disk is full: nothing of
  // `data` is kept then and the offset is unchanged, so the caller can retry or resume later.
  // FAILED_PRECONDITION after a successful Commit.
  virtual Status Write(std::string_view data) = 0;

  // Verifies and commits. `size` 0 skips the size check; an empty `expected` falls back to the
  // expected digest given at OpenWriter, and when that is empty too the blob is committed under
  // the digest of what was written. Errors:
  //   FAILED_PRECONDITION  size or digest mismatch ("... expected sha256:A, got sha256:B");
  //                        nothing is committed and the ingest stays as it was;
  //   RESOURCE_EXHAUSTED   disk full while making the data durable.
  // Committing a blob that already exists is OK and does not rewrite it; `labels` are then
  // merged into the existing blob's labels. After an OK Commit the ingest is gone.
  virtual Status Commit(uint64_t size, const Digest& expected, const Labels& labels = {}) = 0;

  // Appends `size` bytes of the source file (WriterOptions::source_fd) read at `source_offset`.
  // Exactly the bytes copied are hashed, so a source that changes meanwhile can never make a
  // blob whose bytes differ from its digest. Errors:
  //   FAILED_PRECONDITION  the writer has no source, or was committed;
  //   OUT_OF_RANGE         the source is shorter than source_offset + size (nothing copied);
  //   RESOURCE_EXHAUSTED, INTERNAL  as Write: the whole chunks copied before the error stay,
  //                        so the caller resumes from GetStatus().offset.
  virtual Status WriteFrom(uint64_t source_offset, uint64_t size) = 0;

  // The ingest's current state.
  virtual Result<IngestStatus> GetStatus() = 0;
  // Digest of the bytes written so far.
  virtual Result<Digest> CurrentDigest() = 0;
  // Cuts the ingest back to `size` bytes (0 restarts it). OUT_OF_RANGE past the offset.
  virtual Status Truncate(uint64_t size) = 0;
};

// Called for each blob by Walk; a non-OK status stops the walk and is returned by it.
using WalkFn = std::function<Status(const Info&)>;

class Store {
 public:
  virtual ~Store() = default;

  // --- Manager ---
  // NOT_FOUND when the blob is not committed.
  virtual Result<Info> GetInfo(const Digest& digest) = 0;
  // Changes labels (the only mutable field) of info.digest. `fieldpaths`: "labels" replaces all
  // labels with info.labels; "labels.<key>" sets that key from info.labels or removes it when
  // info.labels has no (or an empty) value for it; empty means "labels". Other paths are
  // INVALID_ARGUMENT. Returns the updated Info. NOT_FOUND when the blob is absent.
  virtual Result<Info> Update(const Info& info, const std::vector<std::string>& fieldpaths) = 0;
  // Calls `fn` for each committed blob matching any of `filters` (all when empty), in no
  // particular order. Filters are containerd's syntax over digest, size and labels (see
  // filters.h); a bad filter is INVALID_ARGUMENT.
  virtual Status Walk(const WalkFn& fn, const std::vector<std::string>& filters = {}) = 0;
  // Removes a committed blob (open readers keep working). NOT_FOUND when absent.
  virtual Status Delete(const Digest& digest) = 0;

  // --- Provider ---
  // NOT_FOUND when absent.
  virtual Result<std::unique_ptr<ReaderAt>> OpenReader(const Digest& digest) = 0;

  // --- Ingester ---
  // Opens (creating or resuming) the ingest for options.ref and locks the ref. Errors:
  //   INVALID_ARGUMENT when options.source_fd is not a readable regular file;
  //   UNAVAILABLE "ref locked: ..." while another writer holds it;
  //   ALREADY_EXISTS when options.expected is already committed (nothing to write);
  //   FAILED_PRECONDITION when the ref is resumed with a different expected digest or total.
  // Resuming reports the previous offset through GetStatus().
  virtual Result<std::unique_ptr<Writer>> OpenWriter(const WriterOptions& options) = 0;

  // --- IngestManager ---
  // NOT_FOUND when the ref has no ingest.
  virtual Result<IngestStatus> GetStatus(const std::string& ref) = 0;
  // Ingests matching any of `filters` (fields ref, expected, offset, total).
  virtual Result<std::vector<IngestStatus>> ListStatuses(
      const std::vector<std::string>& filters = {}) = 0;
  // Drops the ingest and its data. NOT_FOUND when none; UNAVAILABLE while a writer holds it.
  virtual Status Abort(const std::string& ref) = 0;
};

// ---- helpers over any Store (content_util.cc) ----

// Writes `data` as one blob under `ref` and commits it: the common "small blob" path. Succeeds
// when the blob already exists. Resumes nothing: an existing ingest for `ref` is restarted.
Status WriteBlob(Store& store, const std::string& ref, std::string_view data,
                 const Digest& expected, const Labels& labels = {});
// The whole blob in memory (for manifests and configs; use a ReaderAt for layers).
Result<std::string> ReadBlob(Store& store, const Digest& digest);

// Validation shared by the backends and the server.
Status ValidateRef(std::string_view ref);
Status ValidateLabels(const Labels& labels);
// A Digest built by hand (not by ParseDigest) may hold anything: this re-checks it.
Status ValidateDigest(const Digest& digest);
// A Writer's source (WriterOptions::source_fd): -1 (none) or a readable regular file.
Status ValidateSource(int fd);

// Result of re-hashing one blob (CheckBlobs).
struct CheckResult {
  Digest digest{};
  Digest actual{};  // what the bytes hash to; empty when the blob could not be read
  Status status{};  // OK, DATA_LOSS (mismatch) or the read error
};
// Re-hashes the named blobs (every blob when `digests` is empty) and reports each one.
Result<std::vector<CheckResult>> CheckBlobs(Store& store, const std::vector<Digest>& digests);

}  // namespace berth::content
