#include "services/metadata/gc_stores_fake.h"

namespace berth::metadata {

void FakeGcStores::AddContent(ContentInfo blob) {
  std::lock_guard lock(mutex_);
  content_[blob.digest] = std::move(blob);
}

void FakeGcStores::AddSnapshot(SnapshotInfo snapshot) {
  std::lock_guard lock(mutex_);
  if (!snapshot.parent.empty()) children_[{snapshot.snapshotter, snapshot.parent}]++;
  snapshots_[{snapshot.snapshotter, snapshot.key}] = std::move(snapshot);
}

bool FakeGcStores::HasContent(const std::string& digest) const {
  std::lock_guard lock(mutex_);
  return content_.contains(digest);
}

bool FakeGcStores::HasSnapshot(const std::string& snapshotter, const std::string& key) const {
  std::lock_guard lock(mutex_);
  return snapshots_.contains({snapshotter, key});
}

size_t FakeGcStores::content_count() const {
  std::lock_guard lock(mutex_);
  return content_.size();
}

size_t FakeGcStores::snapshot_count() const {
  std::lock_guard lock(mutex_);
  return snapshots_.size();
}

void FakeGcStores::set_content_down(bool down) {
  std::lock_guard lock(mutex_);
  content_down_ = down;
}

void FakeGcStores::set_snapshots_down(bool down) {
  std::lock_guard lock(mutex_);
  snapshots_down_ = down;
}

void FakeGcStores::FailDeletesAfter(int n) {
  std::lock_guard lock(mutex_);
  deletes_left_ = n;
}

void FakeGcStores::set_before_delete(std::function<void(const std::string&)> hook) {
  std::lock_guard lock(mutex_);
  before_delete_ = std::move(hook);
}

Result<std::vector<ContentInfo>> FakeGcStores::ListContent() {
  std::vector<ContentInfo> out;
  std::function<void()> hook;
  {
    std::lock_guard lock(mutex_);
    if (content_down_) return Status(Code::kUnavailable, "cannot reach fake content store");
    out.reserve(content_.size());
    for (const auto& [digest, blob] : content_) out.push_back(blob);
    hook = after_list_content_;
  }
  if (hook) hook();
  return out;
}

void FakeGcStores::set_after_list_content(std::function<void()> hook) {
  std::lock_guard lock(mutex_);
  after_list_content_ = std::move(hook);
}

Result<std::vector<SnapshotInfo>> FakeGcStores::ListSnapshots() {
  std::lock_guard lock(mutex_);
  if (snapshots_down_) return Status(Code::kUnavailable, "cannot reach fake snapshot store");
  std::vector<SnapshotInfo> out;
  out.reserve(snapshots_.size());
  for (const auto& [key, snapshot] : snapshots_) out.push_back(snapshot);
  return out;
}

Status FakeGcStores::DeleteAllowed() {
  if (deletes_left_ == 0) return Status(Code::kUnavailable, "fake store went away");
  if (deletes_left_ > 0) --deletes_left_;
  return Status::Ok();
}

Status FakeGcStores::DeleteContent(const ContentInfo& blob) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard lock(mutex_);
    hook = before_delete_;
  }
  if (hook) hook(blob.digest);
  std::lock_guard lock(mutex_);
  if (content_down_) return Status(Code::kUnavailable, "cannot reach fake content store");
  BERTH_RETURN_IF_ERROR(DeleteAllowed());
  if (content_.erase(blob.digest) == 0) return Status(Code::kNotFound, "no such blob");
  return Status::Ok();
}

Status FakeGcStores::RemoveSnapshot(const SnapshotInfo& snapshot) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard lock(mutex_);
    hook = before_delete_;
  }
  if (hook) hook(snapshot.snapshotter + "/" + snapshot.key);
  std::lock_guard lock(mutex_);
  if (snapshots_down_) return Status(Code::kUnavailable, "cannot reach fake snapshot store");
  auto children = children_.find({snapshot.snapshotter, snapshot.key});
  if (children != children_.end() && children->second > 0) {
    return Status(Code::kFailedPrecondition, "snapshot has children");
  }
  BERTH_RETURN_IF_ERROR(DeleteAllowed());
  auto it = snapshots_.find({snapshot.snapshotter, snapshot.key});
  if (it == snapshots_.end()) return Status(Code::kNotFound, "no such snapshot");
  if (!it->second.parent.empty()) children_[{snapshot.snapshotter, it->second.parent}]--;
  snapshots_.erase(it);
  return Status::Ok();
}

}  // namespace berth::metadata
