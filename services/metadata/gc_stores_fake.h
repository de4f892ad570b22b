#pragma once
// FakeGcStores: in-memory GcStores for tests and benchmarks. Thread-safe (tests add objects
// while the GC thread lists and deletes). Simulates an unreachable store with set_*_down(), and
// a snapshot store that refuses to remove a snapshot with children, as a real one does.

#include <functional>
#include <mutex>
#include <set>

#include "services/metadata/gc_stores.h"

namespace berth::metadata {

class FakeGcStores : public GcStores {
 public:
  void AddContent(ContentInfo blob);
  void AddSnapshot(SnapshotInfo snapshot);
  bool HasContent(const std::string& digest) const;
  bool HasSnapshot(const std::string& snapshotter, const std::string& key) const;
  size_t content_count() const;
  size_t snapshot_count() const;

  void set_content_down(bool down);
  void set_snapshots_down(bool down);
  // Fails deletes (not lists) with UNAVAILABLE after `n` more successful ones; -1 = never.
  void FailDeletesAfter(int n);
  // Called (outside the lock) before each delete; lets a test act mid-sweep.
  void set_before_delete(std::function<void(const std::string& what)> hook);
  // Called (outside the lock) after each ListContent; lets a test act between the GC's listing
  // and its reading of the roots.
  void set_after_list_content(std::function<void()> hook);

  Result<std::vector<ContentInfo>> ListContent() override;
  Status DeleteContent(const ContentInfo& blob) override;
  Result<std::vector<SnapshotInfo>> ListSnapshots() override;
  Status RemoveSnapshot(const SnapshotInfo& snapshot) override;

 private:
  Status DeleteAllowed();

  mutable std::mutex mutex_;
  std::map<std::string, ContentInfo> content_;
  std::map<std::pair<std::string, std::string>, SnapshotInfo> snapshots_;
  // (snapshotter, key) -> how many snapshots have it as parent (a real store's check, in O(1)
  // so that benchmarks measure the GC and not this fake).
  std::map<std::pair<std::string, std::string>, int> children_;
  bool content_down_ = false;
  bool snapshots_down_ = false;
  int deletes_left_ = -1;
  std::function<void(const std::string&)> before_delete_;
  std::function<void()> after_list_content_;
};

}  // namespace berth::metadata
