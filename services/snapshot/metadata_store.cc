#include "services/snapshot/metadata_store.h"

#include <nlohmann/json.hpp>

#include "common/unique_fd.h"

namespace berth::snapshot {
namespace {

constexpr size_t kMapSize = size_t{1} << 30;  // virtual; the file grows with use
constexpr char kNextIdKey[] = "next-id";
// Set in "meta" once "children" holds every parent -> child pair (stores made before the index
// existed get it built on open).
constexpr char kChildrenIndexKey[] = "children-index";

Status LmdbStatus(int rc, std::string_view what) {
  Code code = Code::kInternal;
  if (rc == MDB_MAP_FULL) code = Code::kResourceExhausted;
  if (rc == ENOSPC) code = Code::kResourceExhausted;
  if (rc == EACCES || rc == EPERM) code = Code::kPermissionDenied;
  return Status(code, fmt::format("snapshot metadata: {}: {}", what, mdb_strerror(rc)));
}

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

std::string Encode(const SnapshotRecord& r) {
  nlohmann::json j = {{"id", r.id},
                      {"kind", std::string(KindName(r.kind))},
                      {"parent", r.parent},
                      {"created", r.created_at},
                      {"updated", r.updated_at},
                      {"labels", r.labels},
                      {"size", r.usage.size},
                      {"inodes", r.usage.inodes}};
  return j.dump();
}

Result<SnapshotRecord> Decode(std::string_view key, std::string_view data) {
  auto j = nlohmann::json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error(Code::kDataLoss, "snapshot metadata: record of \"{}\" is corrupt", key);
  }
  SnapshotRecord r;
  try {
    r.id = j.at("id").get<uint64_t>();
    BERTH_ASSIGN_OR_RETURN(r.kind, ParseKind(j.at("kind").get<std::string>()));
    r.parent = j.value("parent", "");
    r.created_at = j.value("created", int64_t{0});
    r.updated_at = j.value("updated", int64_t{0});
    r.labels = j.value("labels", Labels{});
    r.usage.size = j.value("size", int64_t{0});
    r.usage.inodes = j.value("inodes", int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    return Error(Code::kDataLoss, "snapshot metadata: record of \"{}\" is corrupt: {}", key,
                 e.what());
  }
  return r;
}

}  // namespace

Result<std::optional<SnapshotRecord>> MetadataStore::Txn::Get(const std::string& key) {
  MDB_val k = Val(key), v;
  int rc = mdb_get(txn_, snapshots_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<SnapshotRecord>();
  if (rc != 0) return LmdbStatus(rc, "get");
  BERTH_ASSIGN_OR_RETURN(auto record, Decode(key, View(v)));
  return std::optional<SnapshotRecord>(std::move(record));
}

Status MetadataStore::Txn::Put(const std::string& key, const SnapshotRecord& record) {
  BERTH_ASSIGN_OR_RETURN(auto old, Get(key));
  if (old && old->parent != record.parent) BERTH_RETURN_IF_ERROR(Unindex(old->parent, key));
  std::string data = Encode(record);
  MDB_val k = Val(key), v = Val(data);
  int rc = mdb_put(txn_, snapshots_, &k, &v, 0);
  if (rc != 0) return LmdbStatus(rc, "put");
  return Index(record.parent, key);
}

Status MetadataStore::Txn::Delete(const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(auto old, Get(key));
  if (!old) return Error(Code::kNotFound, "snapshot \"{}\" not found", key);
  MDB_val k = Val(key);
  int rc = mdb_del(txn_, snapshots_, &k, nullptr);
  if (rc != 0) return LmdbStatus(rc, "delete");
  return Unindex(old->parent, key);
}

Result<std::optional<std::string>> MetadataStore::Txn::FirstChild(const std::string& parent) {
  MDB_val k = Val(parent), v;
  int rc = mdb_get(txn_, children_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return LmdbStatus(rc, "get child");
  return std::optional<std::string>(std::string(View(v)));
}

Status MetadataStore::Txn::Index(const std::string& parent, const std::string& child) {
  if (parent.empty()) return Status::Ok();
  MDB_val k = Val(parent), v = Val(child);
  int rc = mdb_put(txn_, children_, &k, &v, MDB_NODUPDATA);
  return rc == 0 || rc == MDB_KEYEXIST ? Status::Ok() : LmdbStatus(rc, "index child");
}

Status MetadataStore::Txn::Unindex(const std::string& parent, const std::string& child) {
  if (parent.empty()) return Status::Ok();
  MDB_val k = Val(parent), v = Val(child);
  int rc = mdb_del(txn_, children_, &k, &v);
  return rc == 0 || rc == MDB_NOTFOUND ? Status::Ok() : LmdbStatus(rc, "unindex child");
}

Status MetadataStore::Txn::ForEach(
    const std::function<Status(const std::string&, const SnapshotRecord&)>& fn) {
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn_, snapshots_, &cursor);
  if (rc != 0) return LmdbStatus(rc, "cursor");
  CPtr<MDB_cursor, mdb_cursor_close> owner(cursor);
  MDB_val k, v;
  for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    std::string key(View(k));
    BERTH_ASSIGN_OR_RETURN(auto record, Decode(key, View(v)));
    BERTH_RETURN_IF_ERROR(fn(key, record));
  }
  return rc == MDB_NOTFOUND ? Status::Ok() : LmdbStatus(rc, "iterate");
}

Result<uint64_t> MetadataStore::Txn::NextId() {
  MDB_val k = Val(kNextIdKey), v;
  uint64_t next = 1;
  int rc = mdb_get(txn_, meta_, &k, &v);
  if (rc == 0) {
    next = std::stoull(std::string(View(v)));
  } else if (rc != MDB_NOTFOUND) {
    return LmdbStatus(rc, "get next id");
  }
  std::string stored = std::to_string(next + 1);
  MDB_val nv = Val(stored);
  rc = mdb_put(txn_, meta_, &k, &nv, 0);
  if (rc != 0) return LmdbStatus(rc, "put next id");
  return next;
}

Result<std::unique_ptr<MetadataStore>> MetadataStore::Open(const std::string& path) {
  std::unique_ptr<MetadataStore> store(new MetadataStore());
  int rc = mdb_env_create(&store->env_);
  if (rc != 0) return LmdbStatus(rc, "create environment");
  mdb_env_set_mapsize(store->env_, kMapSize);
  mdb_env_set_maxdbs(store->env_, 4);
  rc = mdb_env_open(store->env_, path.c_str(), MDB_NOSUBDIR | MDB_NOTLS, 0600);
  if (rc != 0) return LmdbStatus(rc, "open " + path);
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(store->env_, nullptr, 0, &txn);
  if (rc != 0) return LmdbStatus(rc, "begin");
  rc = mdb_dbi_open(txn, "snapshots", MDB_CREATE, &store->snapshots_);
  if (rc == 0) rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &store->meta_);
  if (rc == 0) rc = mdb_dbi_open(txn, "children", MDB_CREATE | MDB_DUPSORT, &store->children_);
  if (rc != 0) {
    mdb_txn_abort(txn);
    return LmdbStatus(rc, "open databases");
  }
  Status indexed = store->BuildChildrenIndex(txn);
  if (!indexed.ok()) {
    mdb_txn_abort(txn);
    return indexed;
  }
  rc = mdb_txn_commit(txn);
  if (rc != 0) return LmdbStatus(rc, "commit");
  return store;
}

Status MetadataStore::BuildChildrenIndex(MDB_txn* raw) {
  MDB_val k = Val(kChildrenIndexKey), v;
  int rc = mdb_get(raw, meta_, &k, &v);
  if (rc == 0) return Status::Ok();
  if (rc != MDB_NOTFOUND) return LmdbStatus(rc, "get children index");
  Txn txn(raw, snapshots_, meta_, children_);
  BERTH_RETURN_IF_ERROR(txn.ForEach([&txn](const std::string& key, const SnapshotRecord& r) {
    return txn.Index(r.parent, key);
  }));
  MDB_val done = Val("1");
  rc = mdb_put(raw, meta_, &k, &done, 0);
  return rc == 0 ? Status::Ok() : LmdbStatus(rc, "put children index");
}

MetadataStore::~MetadataStore() {
  if (env_) mdb_env_close(env_);
}

Status MetadataStore::Read(const std::function<Status(Txn&)>& fn) { return Run(false, fn); }
Status MetadataStore::Write(const std::function<Status(Txn&)>& fn) { return Run(true, fn); }

Status MetadataStore::Run(bool write, const std::function<Status(Txn&)>& fn) {
  MDB_txn* raw = nullptr;
  int rc = mdb_txn_begin(env_, nullptr, write ? 0 : MDB_RDONLY, &raw);
  if (rc != 0) return LmdbStatus(rc, "begin");
  Txn txn(raw, snapshots_, meta_, children_);
  Status status = fn(txn);
  if (!status.ok() || !write) {
    mdb_txn_abort(raw);
    return status;
  }
  rc = mdb_txn_commit(raw);
  return rc == 0 ? Status::Ok() : LmdbStatus(rc, "commit");
}

}  // namespace berth::snapshot
