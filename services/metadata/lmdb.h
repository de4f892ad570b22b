#pragma once
// Thin RAII layer over LMDB for berth-metadata.
//
// Env owns an MDB_env opened with MDB_NOTLS (read transactions may move between threads and
// one thread may hold several) and durable commits (no MDB_NOSYNC / MDB_NOMETASYNC: a commit
// that returned is on disk). The map grows by itself: Grow() doubles it, and the writer calls it
// on MDB_MAP_FULL and retries, so a full map is never a user-visible error.
//
// Txn aborts unless committed. Every Txn holds the env's resize lock shared, so Grow() (which
// takes it exclusively) only runs while no transaction of this process is open.
//
// Thread-safety: Env is thread-safe. A Txn is used by one thread at a time; a write Txn by the
// thread that began it (LMDB's rule), and there is at most one write Txn at a time (LMDB blocks a
// second writer until the first ends).

#include <lmdb.h>

#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::metadata {

// Status for an LMDB return code: MDB_NOTFOUND -> NOT_FOUND, MDB_KEYEXIST -> ALREADY_EXISTS,
// MDB_MAP_FULL / MDB_TXN_FULL / MDB_READERS_FULL -> RESOURCE_EXHAUSTED, MDB_CORRUPTED /
// MDB_PAGE_NOTFOUND / MDB_INVALID / MDB_VERSION_MISMATCH -> DATA_LOSS, errno values as
// ErrnoStatus, anything else INTERNAL. The message is "<what>: <mdb_strerror>".
Status LmdbStatus(int rc, std::string_view what);

class Env {
 public:
  struct Options {
    size_t initial_map_size = size_t{64} << 20;
    unsigned max_dbs = 16;
    unsigned max_readers = 510;
  };

  // Opens (creating if needed, mode 0600 files in a 0700 directory) the environment in `dir`,
  // and clears reader slots left by dead processes (a kill -9 leaves them).
  static Result<std::unique_ptr<Env>> Open(const std::string& dir, const Options& options);
  static Result<std::unique_ptr<Env>> Open(const std::string& dir) { return Open(dir, Options()); }
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  MDB_env* get() const { return env_; }
  const std::string& dir() const { return dir_; }
  size_t map_size() const;
  // Doubles the map (by at most 4 GiB at a time). The caller must hold no Txn.
  Status Grow();
  std::shared_mutex& resize_mutex() { return resize_mutex_; }

 private:
  Env(MDB_env* env, std::string dir) : env_(env), dir_(std::move(dir)) {}
  MDB_env* env_;
  std::string dir_;
  std::shared_mutex resize_mutex_;
};

class Txn {
 public:
  static Result<Txn> Begin(Env& env, bool read_only);
  Txn(Txn&& other) noexcept;
  Txn& operator=(Txn&& other) = delete;
  Txn(const Txn&) = delete;
  ~Txn();  // aborts when still open

  MDB_txn* get() const { return txn_; }
  bool read_only() const { return read_only_; }
  Status Commit();
  void Abort();

  // Opens (creating in a write txn) a named database.
  Result<MDB_dbi> OpenDb(const char* name, bool create);

  // The value stored at `key` (a view valid until the txn ends or writes), NOT_FOUND when
  // absent (with an empty message: callers word their own).
  Status Get(MDB_dbi dbi, std::string_view key, std::string_view* value) const;
  bool Has(MDB_dbi dbi, std::string_view key) const;
  // Writes. A failure is also remembered in failure(): the writer aborts the whole batch on it
  // (MDB_MAP_FULL then grows the map and retries).
  Status Put(MDB_dbi dbi, std::string_view key, std::string_view value);
  // NOT_FOUND (not remembered as a failure) when the key is absent.
  Status Del(MDB_dbi dbi, std::string_view key);
  const Status& failure() const { return failure_; }
  int failure_code() const { return failure_rc_; }

  // Calls fn(key, value) for every key starting with `prefix`, in key order, until fn returns
  // false.
  Status ScanPrefix(MDB_dbi dbi, std::string_view prefix,
                    const std::function<bool(std::string_view, std::string_view)>& fn) const;
  // True when some key starts with `prefix`.
  bool HasPrefix(MDB_dbi dbi, std::string_view prefix) const;

 private:
  Txn(MDB_txn* txn, bool read_only, std::shared_lock<std::shared_mutex> lock)
      : txn_(txn), read_only_(read_only), lock_(std::move(lock)) {}
  Status Fail(int rc, std::string_view what);

  MDB_txn* txn_;
  bool read_only_;
  std::shared_lock<std::shared_mutex> lock_;
  Status failure_;
  int failure_rc_ = 0;
};

inline MDB_val ToVal(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view FromVal(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

}  // namespace berth::metadata
