#include "services/metadata/lmdb.h"

#include <cerrno>

#include "common/fs.h"

namespace berth::metadata {

Status LmdbStatus(int rc, std::string_view what) {
  std::string message = fmt::format("{}: {}", what, mdb_strerror(rc));
  switch (rc) {
    case MDB_SUCCESS:
      return Status::Ok();
    case MDB_NOTFOUND:
      return Status(Code::kNotFound, message);
    case MDB_KEYEXIST:
      return Status(Code::kAlreadyExists, message);
    case MDB_MAP_FULL:
    case MDB_TXN_FULL:
    case MDB_READERS_FULL:
    case MDB_DBS_FULL:
      return Status(Code::kResourceExhausted, message);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return Status(Code::kDataLoss, message);
    default:
      if (rc > 0 && rc < MDB_KEYEXIST) return ErrnoStatus(rc, what);
      return Status(Code::kInternal, message);
  }
}

Result<std::unique_ptr<Env>> Env::Open(const std::string& dir, const Options& options) {
  BERTH_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  MDB_env* raw = nullptr;
  int rc = mdb_env_create(&raw);
  if (rc != 0) return LmdbStatus(rc, "create LMDB environment");
  std::unique_ptr<Env> env(new Env(raw, dir));
  if ((rc = mdb_env_set_mapsize(raw, options.initial_map_size)) != 0 ||
      (rc = mdb_env_set_maxdbs(raw, options.max_dbs)) != 0 ||
      (rc = mdb_env_set_maxreaders(raw, options.max_readers)) != 0) {
    return LmdbStatus(rc, "configure LMDB environment " + dir);
  }
  rc = mdb_env_open(raw, dir.c_str(), MDB_NOTLS, 0600);
  if (rc != 0) return LmdbStatus(rc, "open LMDB environment " + dir);
  int dead = 0;
  mdb_reader_check(raw, &dead);
  return env;
}

Env::~Env() { mdb_env_close(env_); }

size_t Env::map_size() const {
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

Status Env::Grow() {
  std::unique_lock lock(resize_mutex_);
  size_t size = map_size();
  size_t step = std::min<size_t>(size, size_t{4} << 30);
  int rc = mdb_env_set_mapsize(env_, size + step);
  if (rc != 0) return LmdbStatus(rc, fmt::format("grow LMDB map to {} bytes", size + step));
  return Status::Ok();
}

Result<Txn> Txn::Begin(Env& env, bool read_only) {
  std::shared_lock lock(env.resize_mutex());
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.get(), nullptr, read_only ? MDB_RDONLY : 0, &txn);
  if (rc == MDB_MAP_RESIZED) {
    // Another process grew the map: adopt its size (needs no open txn of ours; we hold none
    // here apart from the shared lock, which only guards our own resizes).
    mdb_env_set_mapsize(env.get(), 0);
    rc = mdb_txn_begin(env.get(), nullptr, read_only ? MDB_RDONLY : 0, &txn);
  }
  if (rc != 0) return LmdbStatus(rc, "begin LMDB transaction");
  return Txn(txn, read_only, std::move(lock));
}

Txn::Txn(Txn&& other) noexcept
    : txn_(std::exchange(other.txn_, nullptr)),
      read_only_(other.read_only_),
      lock_(std::move(other.lock_)),
      failure_(std::move(other.failure_)),
      failure_rc_(other.failure_rc_) {}

Txn::~Txn() { Abort(); }

Status Txn::Commit() {
  if (txn_ == nullptr) return Status(Code::kInternal, "commit of a finished transaction");
  int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
  if (lock_.owns_lock()) lock_.unlock();
  if (rc != 0) return LmdbStatus(rc, "commit metadata transaction");
  return Status::Ok();
}

void Txn::Abort() {
  if (txn_ != nullptr) mdb_txn_abort(std::exchange(txn_, nullptr));
  if (lock_.owns_lock()) lock_.unlock();
}

Result<MDB_dbi> Txn::OpenDb(const char* name, bool create) {
  MDB_dbi dbi = 0;
  int rc = mdb_dbi_open(txn_, name, create ? MDB_CREATE : 0, &dbi);
  if (rc != 0) return LmdbStatus(rc, fmt::format("open database {}", name));
  return dbi;
}

Status Txn::Fail(int rc, std::string_view what) {
  Status status = LmdbStatus(rc, what);
  if (failure_.ok()) {
    failure_ = status;
    failure_rc_ = rc;
  }
  return status;
}

Status Txn::Get(MDB_dbi dbi, std::string_view key, std::string_view* value) const {
  MDB_val k = ToVal(key), v{};
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return Status(Code::kNotFound, "");
  if (rc != 0) return LmdbStatus(rc, "read metadata");
  *value = FromVal(v);
  return Status::Ok();
}

bool Txn::Has(MDB_dbi dbi, std::string_view key) const {
  std::string_view value;
  return Get(dbi, key, &value).ok();
}

Status Txn::Put(MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val k = ToVal(key), v = ToVal(value);
  int rc = mdb_put(txn_, dbi, &k, &v, 0);
  if (rc != 0) return Fail(rc, "write metadata");
  return Status::Ok();
}

Status Txn::Del(MDB_dbi dbi, std::string_view key) {
  MDB_val k = ToVal(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status(Code::kNotFound, "");
  if (rc != 0) return Fail(rc, "delete metadata");
  return Status::Ok();
}

Status Txn::ScanPrefix(MDB_dbi dbi, std::string_view prefix,
                       const std::function<bool(std::string_view, std::string_view)>& fn) const {
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn_, dbi, &cursor);
  if (rc != 0) return LmdbStatus(rc, "open metadata cursor");
  MDB_val k = ToVal(prefix), v{};
  rc = prefix.empty() ? mdb_cursor_get(cursor, &k, &v, MDB_FIRST)
                      : mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
  while (rc == 0) {
    std::string_view key = FromVal(k);
    if (!key.starts_with(prefix)) break;
    if (!fn(key, FromVal(v))) break;
    rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return LmdbStatus(rc, "scan metadata");
  return Status::Ok();
}

bool Txn::HasPrefix(MDB_dbi dbi, std::string_view prefix) const {
  bool found = false;
  (void)ScanPrefix(dbi, prefix, [&](std::string_view, std::string_view) {
    found = true;
    return false;
  });
  return found;
}

}  // namespace berth::metadata
