#pragma once
// MetadataStore: the records of one snapshotter, in an LMDB environment of its own
// (<root>/snapshot/<snapshotter>/metadata.lmdb, a single file).
//
// Layout: named database "snapshots" maps a key (or committed name) to its record (JSON, so
// fields can be added later); database "meta" holds "next-id", the counter that names snapshot
// directories (<root>/snapshot/<snapshotter>/snapshots/<id>). Ids are never reused. Database
// "children" (sorted duplicates) maps a parent key to its children's keys, kept by Put/Delete,
// so that Remove asks "has it a child?" without reading every record (GC removes thousands).
//
// Every commit is durable (LMDB's default sync mode): after Write() returns OK the change
// survives a crash, and a crash before it leaves the old state.
//
// Thread-safety: Read and Write may run on many threads at once (LMDB serialises writers). A Txn
// is used only inside the callback that received it, on that thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <lmdb.h>

#include "common/status.h"
#include "services/snapshot/snapshotter.h"

namespace berth::snapshot {

struct SnapshotRecord {
  uint64_t id = 0;
  Kind kind = Kind::kUnknown;
  std::string parent{};
  int64_t created_at = 0;
  int64_t updated_at = 0;
  Labels labels{};
  Usage usage{};  // committed snapshots: measured at commit
};

class MetadataStore {
 public:
  class Txn {
   public:
    Result<std::optional<SnapshotRecord>> Get(const std::string& key);
    // Put/Delete/NextId need a write transaction (Write()).
    Status Put(const std::string& key, const SnapshotRecord& record);
    // NOT_FOUND when absent.
    Status Delete(const std::string& key);
    // A child of `parent` (the first in key order), or nothing.
    Result<std::optional<std::string>> FirstChild(const std::string& parent);
    // Every record in key order; a non-OK status from `fn` stops and is returned.
    Status ForEach(const std::function<Status(const std::string&, const SnapshotRecord&)>& fn);
    // Allocates a fresh id.
    Result<uint64_t> NextId();

   private:
    friend class MetadataStore;
    Txn(MDB_txn* txn, MDB_dbi snapshots, MDB_dbi meta, MDB_dbi children)
        : txn_(txn), snapshots_(snapshots), meta_(meta), children_(children) {}
    // Adds / drops the pair parent -> child in "children" (nothing for an empty parent).
    Status Index(const std::string& parent, const std::string& child);
    Status Unindex(const std::string& parent, const std::string& child);
    MDB_txn* txn_;
    MDB_dbi snapshots_;
    MDB_dbi meta_;
    MDB_dbi children_;
  };

  // Opens (creating) the environment file at `path`.
  static Result<std::unique_ptr<MetadataStore>> Open(const std::string& path);
  ~MetadataStore();

  // Runs `fn` in a read-only transaction.
  Status Read(const std::function<Status(Txn&)>& fn);
  // Runs `fn` in a write transaction, committed when `fn` returns OK and aborted otherwise.
  Status Write(const std::function<Status(Txn&)>& fn);

 private:
  MetadataStore() = default;
  Status Run(bool write, const std::function<Status(Txn&)>& fn);
  // Fills "children" from the records once, for stores written before it existed.
  Status BuildChildrenIndex(MDB_txn* txn);

  MDB_env* env_ = nullptr;
  MDB_dbi snapshots_ = 0;
  MDB_dbi meta_ = 0;
  MDB_dbi children_ = 0;
};

}  // namespace berth::snapshot
