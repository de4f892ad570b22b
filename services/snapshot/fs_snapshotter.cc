#include "services/snapshot/fs_snapshotter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

#include <spdlog/spdlog.h>

#include "common/fs.h"
#include "common/time.h"
#include "services/snapshot/copy_tree.h"
#include "services/snapshot/filters.h"
#include "services/snapshot/fs_util.h"

namespace berth::snapshot {
namespace {

Info ToInfo(const std::string& key, const SnapshotRecord& record) {
  return Info{key, record.parent, record.kind, record.created_at, record.updated_at, record.labels};
}

Status NotFound(const std::string& key) {
  return Error(Code::kNotFound, "snapshot \"{}\" not found", key);
}

Result<SnapshotRecord> Require(MetadataStore::Txn& txn, const std::string& key) {
  BERTH_ASSIGN_OR_RETURN(auto record, txn.Get(key));
  if (!record) return NotFound(key);
  return *record;
}

Status Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoStatus(errno, fmt::format("rename {} to {}", from, to));
  }
  return Status::Ok();
}

bool ParseId(std::string_view text, uint64_t& id) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

FsSnapshotter::FsSnapshotter(std::string dir, std::unique_ptr<SnapshotDriver> driver,
                             std::unique_ptr<MetadataStore> store)
    : dir_(std::move(dir)), driver_(std::move(driver)), store_(std::move(store)) {}

Result<std::unique_ptr<FsSnapshotter>> FsSnapshotter::Open(const std::string& dir,
                                                           std::unique_ptr<SnapshotDriver> driver) {
  BERTH_RETURN_IF_ERROR(MakeDirs(dir + "/snapshots", 0700));
  BERTH_ASSIGN_OR_RETURN(auto store, MetadataStore::Open(dir + "/metadata.lmdb"));
  return std::unique_ptr<FsSnapshotter>(
      new FsSnapshotter(dir, std::move(driver), std::move(store)));
}

std::string FsSnapshotter::SnapshotDir(uint64_t id) const {
  return fmt::format("{}/snapshots/{}", dir_, id);
}

Result<std::vector<std::string>> FsSnapshotter::ParentDirs(MetadataStore::Txn& txn,
                                                           const std::string& parent) {
  std::vector<std::string> dirs;
  std::string next = parent;
  while (!next.empty()) {
    BERTH_ASSIGN_OR_RETURN(auto record, txn.Get(next));
    if (!record) {
      return Error(Code::kDataLoss, "snapshot chain is broken: parent \"{}\" is missing", next);
    }
    dirs.push_back(SnapshotDir(record->id));
    if (dirs.size() > 10000) return Status(Code::kDataLoss, "snapshot chain has a cycle");
    next = record->parent;
  }
  return dirs;
}

void FsSnapshotter::Forget(uint64_t id) {
  std::lock_guard lock(mutex_);
  creating_.erase(id);
}

Result<std::vector<Mount>> FsSnapshotter::Create(Kind kind, const std::string& key,
                                                 const std::string& parent, const Labels& labels) {
  BERTH_RETURN_IF_ERROR(ValidateKey(key));
  BERTH_RETURN_IF_ERROR(ValidateLabels(labels));
  uint64_t id = 0, parent_id = 0;
  std::vector<std::string> parents;
  BERTH_RETURN_IF_ERROR(store_->Write([&](MetadataStore::Txn& txn) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto existing, txn.Get(key));
    if (existing) return Error(Code::kAlreadyExists, "snapshot \"{}\" already exists", key);
    if (!parent.empty()) {
      BERTH_ASSIGN_OR_RETURN(auto p, txn.Get(parent));
      if (!p) return Error(Code::kNotFound, "parent snapshot \"{}\" not found", parent);
      if (p->kind != Kind::kCommitted) {
        return Error(Code::kInvalidArgument, "parent \"{}\" is not a committed snapshot (it is {})",
                     parent, KindName(p->kind));
      }
      parent_id = p->id;
      BERTH_ASSIGN_OR_RETURN(parents, ParentDirs(txn, parent));
    }
    BERTH_ASSIGN_OR_RETURN(id, txn.NextId());
    return Status::Ok();
  }));
  {
    std::lock_guard lock(mutex_);
    creating_.insert(id);
  }
  std::string tmp = fmt::format("{}/snapshots/new-{}", dir_, id);
  std::string final_dir = SnapshotDir(id);
  Status status = MakeDirs(tmp, 0700);
  if (status.ok()) status = driver_->Populate(tmp, kind, parents);
  if (status.ok()) {
    std::lock_guard lock(mutex_);
    bool renamed = false;
    status = store_->Write([&](MetadataStore::Txn& txn) -> Status {
      BERTH_ASSIGN_OR_RETURN(auto existing, txn.Get(key));
      if (existing) return Error(Code::kAlreadyExists, "snapshot \"{}\" already exists", key);
      if (!parent.empty()) {
        BERTH_ASSIGN_OR_RETURN(auto p, txn.Get(parent));
        if (!p || p->id != parent_id) {
          return Error(Code::kNotFound, "parent snapshot \"{}\" was removed", parent);
        }
      }
      int64_t now = NowUnixNanos();
      BERTH_RETURN_IF_ERROR(txn.Put(key, SnapshotRecord{id, kind, parent, now, now, labels, {}}));
      BERTH_RETURN_IF_ERROR(Rename(tmp, final_dir));
      renamed = true;
      return Status::Ok();
    });
    if (!status.ok() && renamed) (void)Rename(final_dir, tmp);
  }
  if (!status.ok()) {
    Status removed = RemoveAll(tmp);
    if (!removed.ok()) spdlog::warn("cannot remove {}: {}", tmp, removed.ToString());
  }
  Forget(id);
  if (!status.ok()) return status;
  return driver_->Mounts(final_dir, kind, parents);
}

Result<std::vector<Mount>> FsSnapshotter::Prepare(const std::string& key, const std::string& parent,
                                                  const Labels& labels) {
  return Create(Kind::kActive, key, parent, labels);
}

Result<std::vector<Mount>> FsSnapshotter::View(const std::string& key, const std::string& parent,
                                               const Labels& labels) {
  return Create(Kind::kView, key, parent, labels);
}

Result<Info> FsSnapshotter::Stat(const std::string& key) {
  Info info;
  BERTH_RETURN_IF_ERROR(store_->Read([&](MetadataStore::Txn& txn) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto record, Require(txn, key));
    info = ToInfo(key, record);
    return Status::Ok();
  }));
  return info;
}

Result<Info> FsSnapshotter::Update(const Info& info, const std::vector<std::string>& fieldpaths) {
  BERTH_RETURN_IF_ERROR(ValidateKey(info.name));
  Info result;
  BERTH_RETURN_IF_ERROR(store_->Write([&](MetadataStore::Txn& txn) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto record, Require(txn, info.name));
    BERTH_RETURN_IF_ERROR(ApplyLabelUpdate(record.labels, info.labels, fieldpaths));
    record.updated_at = NowUnixNanos();
    BERTH_RETURN_IF_ERROR(txn.Put(info.name, record));
    result = ToInfo(info.name, record);
    return Status::Ok();
  }));
  return result;
}

Result<Usage> FsSnapshotter::GetUsage(const std::string& key) {
  SnapshotRecord record;
  BERTH_RETURN_IF_ERROR(store_->Read([&](MetadataStore::Txn& txn) -> Status {
    BERTH_ASSIGN_OR_RETURN(record, Require(txn, key));
    return Status::Ok();
  }));
  if (record.kind == Kind::kCommitted) return record.usage;
  return DiskUsage(SnapshotDir(record.id) + "/fs");
}

Result<std::vector<Mount>> FsSnapshotter::Mounts(const std::string& key) {
  SnapshotRecord record;
  std::vector<std::string> parents;
  BERTH_RETURN_IF_ERROR(store_->Read([&](MetadataStore::Txn& txn) -> Status {
    BERTH_ASSIGN_OR_RETURN(record, Require(txn, key));
    if (record.kind == Kind::kCommitted) {
      return Error(Code::kFailedPrecondition,
                   "snapshot \"{}\" is committed: mount a view or an active snapshot of it", key);
    }
    BERTH_ASSIGN_OR_RETURN(parents, ParentDirs(txn, record.parent));
    return Status::Ok();
  }));
  return driver_->Mounts(SnapshotDir(record.id), record.kind, parents);
}

Status FsSnapshotter::Commit(const std::string& name, const std::string& key,
                             const Labels& labels) {
  BERTH_RETURN_IF_ERROR(ValidateKey(name));
  BERTH_RETURN_IF_ERROR(ValidateLabels(labels));
  SnapshotRecord active;
  auto check = [&](MetadataStore::Txn& txn) -> Status {
    BERTH_ASSIGN_OR_RETURN(auto record, Require(txn, key));
    if (record.kind != Kind::kActive) {
      return Error(Code::kFailedPrecondition, "snapshot \"{}\" is {}, only an active one commits",
                   key, KindName(record.kind));
    }
    if (active.id != 0 && record.id != active.id) return NotFound(key);
    BERTH_ASSIGN_OR_RETURN(auto existing, txn.Get(name));
    if (existing) return Error(Code::kAlreadyExists, "snapshot \"{}\" already exists", name);
    active = record;
    return Status::Ok();
  };
  BERTH_RETURN_IF_ERROR(store_->Read(check));
  // Durability first: the files must be on disk before the record says "committed".
  std::string fs = SnapshotDir(active.id) + "/fs";
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenDirectory(fs, false));
  if (::syncfs(fd.get()) != 0) return ErrnoStatus(errno, "syncfs " + fs);
  BERTH_ASSIGN_OR_RETURN(Usage usage, DiskUsage(fs));
  return store_->Write([&](MetadataStore::Txn& txn) -> Status {
    BERTH_RETURN_IF_ERROR(check(txn));
    int64_t now = NowUnixNanos();
    SnapshotRecord committed{active.id, Kind::kCommitted, active.parent, now, now, labels, usage};
    BERTH_RETURN_IF_ERROR(txn.Put(name, committed));
    return txn.Delete(key);
  });
}

Status FsSnapshotter::Remove(const std::string& key) {
  std::string removing;
  {
    std::lock_guard lock(mutex_);
    std::string renamed_from;
    Status status = store_->Write([&](MetadataStore::Txn& txn) -> Status {
      BERTH_ASSIGN_OR_RETURN(auto record, Require(txn, key));
      BERTH_ASSIGN_OR_RETURN(auto child, txn.FirstChild(key));
      if (child) {
        return Error(Code::kFailedPrecondition,
                     "cannot remove snapshot \"{}\": snapshot \"{}\" is its child", key, *child);
      }
      BERTH_RETURN_IF_ERROR(txn.Delete(key));
      std::string from = SnapshotDir(record.id);
      std::string to = fmt::format("{}/snapshots/rm-{}", dir_, record.id);
      BERTH_RETURN_IF_ERROR(Rename(from, to));
      renamed_from = from;
      removing = to;
      return Status::Ok();
    });
    if (!status.ok()) {
      if (!renamed_from.empty()) (void)Rename(removing, renamed_from);
      return status;
    }
  }
  Status removed = RemoveAll(removing);
  if (!removed.ok()) {
    spdlog::warn("snapshot removed but its files stay until cleanup key={} error={}", key,
                 removed.ToString());
  }
  return Status::Ok();
}

Status FsSnapshotter::Walk(const WalkFn& fn, const std::vector<std::string>& filters) {
  BERTH_ASSIGN_OR_RETURN(InfoFilter filter, InfoFilter::Parse(filters));
  std::vector<Info> infos;
  BERTH_RETURN_IF_ERROR(store_->Read([&](MetadataStore::Txn& txn) {
    return txn.ForEach([&](const std::string& key, const SnapshotRecord& record) {
      Info info = ToInfo(key, record);
      if (filter.Match(info)) infos.push_back(std::move(info));
      return Status::Ok();
    });
  }));
  for (const Info& info : infos) BERTH_RETURN_IF_ERROR(fn(info));
  return Status::Ok();
}

Result<int64_t> FsSnapshotter::Cleanup() {
  std::lock_guard lock(mutex_);
  std::set<uint64_t> live = creating_;
  BERTH_RETURN_IF_ERROR(store_->Read([&](MetadataStore::Txn& txn) {
    return txn.ForEach([&](const std::string&, const SnapshotRecord& record) {
      live.insert(record.id);
      return Status::Ok();
    });
  }));
  BERTH_ASSIGN_OR_RETURN(UniqueFd dir, OpenDirectory(dir_ + "/snapshots", false));
  BERTH_ASSIGN_OR_RETURN(auto names, ListDir(dir.get()));
  int64_t removed = 0;
  for (const std::string& name : names) {
    std::string_view id_text = name;
    if (id_text.rfind("new-", 0) == 0) id_text.remove_prefix(4);
    uint64_t id = 0;
    bool numeric = ParseId(id_text, id);
    if (numeric && live.count(id) && (id_text.size() == name.size() || creating_.count(id))) {
      continue;
    }
    Status status = RemoveAll(dir_ + "/snapshots/" + name);
    if (!status.ok()) return status;
    ++removed;
    spdlog::info("cleanup removed an unreferenced snapshot directory dir={}", name);
  }
  return removed;
}

}  // namespace berth::snapshot
