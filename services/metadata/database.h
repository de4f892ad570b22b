#pragma once
// Database: berth-metadata's LMDB environment (layout in schema.h) with its writer.
//
// Reads: Read() gives a read-only Txn, a consistent snapshot; any thread, many at once, cheap
// (LMDB readers take no lock against the writer).
//
// Writes go through one writer thread. Write(op, done) queues `op`; the writer takes every op
// queued at that moment (up to max_batch) and runs them in ONE write transaction, commits it
// durably (one fsync for the batch), then calls each `done` with that op's result, in queue
// order. So concurrent requests share fsyncs while each still sees its own outcome:
//   - an op returns OK, or an error when its request is refused (NOT_FOUND, ALREADY_EXISTS...);
//     a refusing op must not have written anything (check first, then write);
//   - when an LMDB write fails inside an op (Txn::failure()), the batch is aborted: on
//     MDB_MAP_FULL the map grows and the batch runs again (ops must be repeatable: pure
//     functions of the txn and of what they captured); on anything else each op is retried
//     alone so only the culprit fails;
//   - a failed commit fails every op of the batch with that status.
// `done` runs on the writer thread after the commit, before the next batch starts: it is where
// replies are sent and events published, so they leave in commit order. It must not block on
// another write (that would deadlock the writer).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "services/metadata/lmdb.h"
#include "services/metadata/schema.h"

namespace berth::metadata {

struct Dbs {
  MDB_dbi meta = 0;
  MDB_dbi namespaces = 0;
  MDB_dbi images = 0;
  MDB_dbi containers = 0;
  MDB_dbi leases = 0;
  MDB_dbi lease_resources = 0;
};

class Database {
 public:
  struct Options {
    Env::Options env{};
    size_t max_batch = 512;
    // For tests of the migration machinery: the version to reach and the steps to get there.
    uint32_t schema_version = kSchemaVersion;
    const std::vector<Migration>* migrations = nullptr;  // default: Migrations()
  };
  using WriteOp = std::function<Status(Txn&)>;
  using WriteDone = std::function<void(Status)>;

  // Opens the environment in `dir`, checks the schema version and migrates. Errors:
  // FAILED_PRECONDITION for a newer schema, DATA_LOSS for a corrupt file, I/O errors.
  static Result<std::unique_ptr<Database>> Open(const std::string& dir, const Options& options);
  static Result<std::unique_ptr<Database>> Open(const std::string& dir) {
    return Open(dir, Options());
  }
  // Runs every write already queued, then stops the writer (Shutdown()).
  ~Database();
  // Runs every write already queued and stops the writer thread; writes queued after it
  // started fail with UNAVAILABLE. Idempotent; not from the writer thread.
  void Shutdown();

  const Dbs& dbs() const { return dbs_; }
  Env& env() { return *env_; }
  uint32_t schema_version() const { return schema_version_; }

  Result<Txn> Read() { return Txn::Begin(*env_, true); }
  // Thread-safe. `done` may be empty.
  void Write(WriteOp op, WriteDone done);
  // Blocks until `op` committed. Never call it from the writer thread (from a `done`).
  Status WriteSync(WriteOp op);

  struct Stats {
    uint64_t batches = 0;
    uint64_t ops = 0;
    uint64_t grows = 0;
  };
  Stats stats() const;

 private:
  struct Pending {
    WriteOp op;
    WriteDone done;
  };
  Database(std::unique_ptr<Env> env, Options options);
  Status Initialize();
  void WriterLoop();
  void RunBatch(std::vector<Pending>& batch);

  std::unique_ptr<Env> env_;
  Options options_;
  Dbs dbs_;
  uint32_t schema_version_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::thread writer_;
};

}  // namespace berth::metadata
