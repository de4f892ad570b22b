#pragma once
// FsSnapshotter: the Snapshotter shared by the overlayfs and native plugins. It keeps records in
// a MetadataStore and one directory per snapshot; a Driver decides what goes into a new
// directory and which mounts assemble it.
//
// On disk (<dir> = <root>/snapshot/<name>):
//   <dir>/metadata.lmdb         the records (see metadata_store.h)
//   <dir>/snapshots/<id>/fs     the snapshot's files (overlay: its upper layer; native: a copy)
//   <dir>/snapshots/<id>/work   overlay work dir (active overlay snapshots)
//   <dir>/snapshots/new-<id>    a snapshot being created (renamed to <id> in the transaction
//                               that records it)
//   <dir>/snapshots/rm-<id>     a snapshot being removed (renamed in the transaction that drops
//                               its record, then deleted)
// A crash between these steps leaves a directory without a record: Cleanup() removes it.
//
// Paths stay short on purpose: ids are numbers, so an overlay lowerdir is
// "<dir>/snapshots/<id>/fs" (see mount.h for chains longer than one page of options).

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "services/snapshot/metadata_store.h"
#include "services/snapshot/snapshotter.h"

namespace berth::snapshot {

class SnapshotDriver {
 public:
  virtual ~SnapshotDriver() = default;
  // Fills new snapshot directory `dir` (exists, empty) for a snapshot of `kind` whose chain of
  // parent directories is `parents` (nearest first; each holds fs/).
  virtual Status Populate(const std::string& dir, Kind kind,
                          const std::vector<std::string>& parents) = 0;
  // Mounts of an active snapshot or view in `dir`.
  virtual std::vector<Mount> Mounts(const std::string& dir, Kind kind,
                                    const std::vector<std::string>& parents) = 0;
};

class FsSnapshotter : public Snapshotter {
 public:
  // Opens (creating) the snapshotter's directory `dir` and its metadata.
  static Result<std::unique_ptr<FsSnapshotter>> Open(const std::string& dir,
                                                     std::unique_ptr<SnapshotDriver> driver);

  Result<Info> Stat(const std::string& key) override;
  Result<Info> Update(const Info& info, const std::vector<std::string>& fieldpaths) override;
  Result<Usage> GetUsage(const std::string& key) override;
  Result<std::vector<Mount>> Mounts(const std::string& key) override;
  Result<std::vector<Mount>> Prepare(const std::string& key, const std::string& parent,
                                     const Labels& labels) override;
  Result<std::vector<Mount>> View(const std::string& key, const std::string& parent,
                                  const Labels& labels) override;
  Status Commit(const std::string& name, const std::string& key, const Labels& labels) override;
  Status Remove(const std::string& key) override;
  Status Walk(const WalkFn& fn, const std::vector<std::string>& filters) override;
  Result<int64_t> Cleanup() override;

  const std::string& dir() const { return dir_; }
  // <dir>/snapshots/<id>
  std::string SnapshotDir(uint64_t id) const;

 private:
  FsSnapshotter(std::string dir, std::unique_ptr<SnapshotDriver> driver,
                std::unique_ptr<MetadataStore> store);
  Result<std::vector<Mount>> Create(Kind kind, const std::string& key, const std::string& parent,
                                    const Labels& labels);
  // Directories of the parent chain of `parent` (nearest first), read in `txn`.
  Result<std::vector<std::string>> ParentDirs(MetadataStore::Txn& txn, const std::string& parent);
  void Forget(uint64_t id);

  std::string dir_;
  std::unique_ptr<SnapshotDriver> driver_;
  std::unique_ptr<MetadataStore> store_;
  std::mutex mutex_;
  std::set<uint64_t> creating_;  // ids whose new-<id> directory is being filled (guarded)
};

}  // namespace berth::snapshot
