// Garbage collection: the guard, the mark and the sweep.
#include "services/metadata/gc.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

#include "common/time.h"
#include "services/metadata/metadata.h"

namespace berth::metadata {

void GcReport::ToProto(v1::CollectResponse* out) const {
  for (const auto& digest : removed_content) out->add_removed_content(digest);
  for (const auto& s : removed_snapshots) {
    auto* removed = out->add_removed_snapshots();
    removed->set_snapshotter(s.snapshotter);
    removed->set_key(s.key);
    removed->set_namespace_(s.ns);
  }
  for (const auto& lease : expired_leases) out->add_expired_leases(lease);
  out->set_marked(marked);
  out->set_duration_ns(duration_ns);
  out->set_dry_run(dry_run);
  out->set_complete(complete);
  out->set_error(error);
}

// ---- GcGuard ----

std::string GcGuard::ContentKey(const std::string& ns, const std::string& digest) const {
  return content_ns_ ? ns + '\0' + digest : digest;
}

std::string GcGuard::SnapshotKey(const std::string& ns, const std::string& snapshotter,
                                 const std::string& key) const {
  std::string out = snapshots_ns_ ? ns + '\0' : std::string();
  return out + snapshotter + '\0' + key;
}

void GcGuard::Begin(bool content_namespaced, bool snapshots_namespaced) {
  std::lock_guard lock(mutex_);
  active_ = true;
  armed_ = false;
  aborted_ = false;
  content_ns_ = content_namespaced;
  snapshots_ns_ = snapshots_namespaced;
  recorded_.clear();
  content_.clear();
  snapshots_.clear();
}

bool GcGuard::Hit(const GcRef& ref) const {
  if (ref.kind == GcRef::Kind::kContent) return content_.contains(ContentKey(ref.ns, ref.key));
  return snapshots_.contains(SnapshotKey(ref.ns, ref.snapshotter, ref.key));
}

bool GcGuard::Arm(std::set<std::string> content_keys, std::set<std::string> snapshot_keys) {
  std::lock_guard lock(mutex_);
  content_ = std::move(content_keys);
  snapshots_ = std::move(snapshot_keys);
  armed_ = true;
  for (const auto& ref : recorded_) {
    if (Hit(ref)) aborted_ = true;
  }
  recorded_.clear();
  return !aborted_;
}

bool GcGuard::Claim(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (aborted_) return false;
  in_flight_ = key;
  return true;
}

void GcGuard::Finished() {
  {
    std::lock_guard lock(mutex_);
    in_flight_.reset();
  }
  finished_.notify_all();
}

void GcGuard::End() {
  {
    std::lock_guard lock(mutex_);
    active_ = armed_ = false;
    in_flight_.reset();
    recorded_.clear();
    content_.clear();
    snapshots_.clear();
  }
  finished_.notify_all();
}

void GcGuard::Touch(const std::vector<GcRef>& refs) {
  std::unique_lock lock(mutex_);
  if (!active_) return;
  if (!armed_) {
    if (!aborted_) recorded_.insert(recorded_.end(), refs.begin(), refs.end());
    return;
  }
  std::optional<std::string> wait_for;
  for (const auto& ref : refs) {
    if (!Hit(ref)) continue;
    aborted_ = true;
    std::string key = ref.kind == GcRef::Kind::kContent
                          ? ContentKey(ref.ns, ref.key)
                          : SnapshotKey(ref.ns, ref.snapshotter, ref.key);
    if (in_flight_ == key) wait_for = key;
  }
  if (wait_for) finished_.wait(lock, [&] { return in_flight_ != wait_for; });
}

// ---- mark ----

namespace {

enum : uint8_t { kUnmarked = 0, kMarkedFlat = 1, kMarked = 2 };

class Marker {
 public:
  Marker(const GcGuard& guard, const std::vector<ContentInfo>& content,
         const std::vector<SnapshotInfo>& snapshots)
      : guard_(guard), content_(content), snapshots_(snapshots) {
    content_state_.assign(content.size(), kUnmarked);
    snapshot_state_.assign(snapshots.size(), kUnmarked);
    content_index_.reserve(content.size());
    for (size_t i = 0; i < content.size(); ++i) {
      content_index_.emplace(guard.ContentKey(content[i].ns, content[i].digest), i);
    }
    snapshot_index_.reserve(snapshots.size());
    for (size_t i = 0; i < snapshots.size(); ++i) {
      const auto& s = snapshots[i];
      snapshot_index_.emplace(guard.SnapshotKey(s.ns, s.snapshotter, s.key), i);
    }
  }

  void Roots(const std::vector<GcRef>& refs) {
    for (const auto& ref : refs) Visit(ref);
    for (size_t i = 0; i < content_.size(); ++i) {
      if (content_[i].labels.contains(std::string(kLabelGcRoot)))
        Mark(false, i, false, content_[i].ns);
    }
    for (size_t i = 0; i < snapshots_.size(); ++i) {
      if (snapshots_[i].labels.contains(std::string(kLabelGcRoot))) {
        Mark(true, i, false, snapshots_[i].ns);
      }
    }
    Drain();
  }

  uint64_t marked() const {
    uint64_t n = 0;
    for (auto s : content_state_) n += s != kUnmarked;
    for (auto s : snapshot_state_) n += s != kUnmarked;
    return n;
  }
  bool content_marked(size_t i) const { return content_state_[i] != kUnmarked; }
  bool snapshot_marked(size_t i) const { return snapshot_state_[i] != kUnmarked; }

 private:
  struct Item {
    bool snapshot;
    size_t index;
    bool flat;
    std::string ns;  // namespace the object was reached from
  };

  void Visit(const GcRef& ref) {
    if (ref.kind == GcRef::Kind::kContent) {
      auto it = content_index_.find(guard_.ContentKey(ref.ns, ref.key));
      if (it != content_index_.end()) Mark(false, it->second, ref.flat, ref.ns);
    } else {
      auto it = snapshot_index_.find(guard_.SnapshotKey(ref.ns, ref.snapshotter, ref.key));
      if (it != snapshot_index_.end()) Mark(true, it->second, ref.flat, ref.ns);
    }
  }

  void Mark(bool snapshot, size_t index, bool flat, const std::string& ns) {
    uint8_t& state = snapshot ? snapshot_state_[index] : content_state_[index];
    uint8_t want = flat ? kMarkedFlat : kMarked;
    if (state >= want) return;
    state = want;
    work_.push_back({snapshot, index, flat, ns});
  }

  void Drain() {
    std::vector<GcRef> refs;
    while (!work_.empty()) {
      Item item = std::move(work_.back());
      work_.pop_back();
      refs.clear();
      if (item.snapshot) {
        const auto& s = snapshots_[item.index];
        std::string ns = s.ns.empty() ? item.ns : s.ns;
        if (!s.parent.empty())
          refs.push_back(GcRef::Snapshot(ns, s.snapshotter, s.parent, item.flat));
        if (!item.flat) AppendLabelRefsFrom(ns, s.labels, &refs);
      } else if (!item.flat) {
        const auto& c = content_[item.index];
        AppendLabelRefsFrom(c.ns.empty() ? item.ns : c.ns, c.labels, &refs);
      }
      for (const auto& ref : refs) Visit(ref);
    }
  }

  const GcGuard& guard_;
  const std::vector<ContentInfo>& content_;
  const std::vector<SnapshotInfo>& snapshots_;
  std::unordered_map<std::string, size_t> content_index_;
  std::unordered_map<std::string, size_t> snapshot_index_;
  std::vector<uint8_t> content_state_;
  std::vector<uint8_t> snapshot_state_;
  std::vector<Item> work_;
};

// Unmarked snapshots, deepest first (children before their parents).
std::vector<size_t> SnapshotSweepOrder(const GcGuard& guard, const Marker& marker,
                                       const std::vector<SnapshotInfo>& snapshots) {
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < snapshots.size(); ++i) {
    const auto& s = snapshots[i];
    index.emplace(guard.SnapshotKey(s.ns, s.snapshotter, s.key), i);
  }
  std::vector<int> depth(snapshots.size(), -1);
  for (size_t i = 0; i < snapshots.size(); ++i) {
    // Walk up to a known depth (or the root), then assign on the way back.
    std::vector<size_t> chain;
    size_t at = i;
    while (depth[at] < 0 && chain.size() <= snapshots.size()) {
      chain.push_back(at);
      const auto& s = snapshots[at];
      auto parent = s.parent.empty() ? index.end()
                                     : index.find(guard.SnapshotKey(s.ns, s.snapshotter, s.parent));
      if (parent == index.end()) break;
      at = parent->second;
    }
    int base = depth[at] >= 0 ? depth[at] + 1 : 0;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      if (depth[*it] < 0) depth[*it] = base++;
    }
  }
  std::vector<size_t> order;
  for (size_t i = 0; i < snapshots.size(); ++i) {
    if (!marker.snapshot_marked(i)) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return depth[a] > depth[b]; });
  return order;
}

// Handles one delete's outcome; false when the sweep must stop.
bool Swept(const Status& status, const std::string& what, GcReport* report) {
  if (status.ok() || status.code() == Code::kNotFound) return true;
  if (status.code() == Code::kFailedPrecondition) {
    spdlog::info("gc kept {}: {}", what, status.message());
    return true;
  }
  report->complete = false;
  report->error = fmt::format("removing {}: {}", what, status.message());
  return false;
}

}  // namespace

namespace {

void Sweep(GcStores& stores, GcGuard& guard, const std::vector<ContentInfo>& content,
           const std::vector<SnapshotInfo>& snapshots, const std::vector<size_t>& snapshot_order,
           const std::vector<size_t>& content_order, GcReport* report) {
  auto stop_for_reference = [&] {
    report->complete = false;
    report->error = "a new reference to a collectible object appeared; collection re-runs";
  };
  for (size_t i : snapshot_order) {
    const auto& s = snapshots[i];
    if (!guard.Claim(guard.SnapshotKey(s.ns, s.snapshotter, s.key))) return stop_for_reference();
    Status status = stores.RemoveSnapshot(snapshots[i]);
    guard.Finished();
    if (status.ok()) report->removed_snapshots.push_back(snapshots[i]);
    if (!Swept(status, "snapshot " + snapshots[i].snapshotter + "/" + snapshots[i].key, report)) {
      return;
    }
  }
  for (size_t i : content_order) {
    if (!guard.Claim(guard.ContentKey(content[i].ns, content[i].digest))) {
      return stop_for_reference();
    }
    Status status = stores.DeleteContent(content[i]);
    guard.Finished();
    if (status.ok()) report->removed_content.push_back(content[i].digest);
    if (!Swept(status, "blob " + content[i].digest, report)) return;
  }
}

}  // namespace

Result<GcReport> Collect(MetadataStore& store, GcStores& stores, GcGuard& guard, bool dry_run) {
  auto start = std::chrono::steady_clock::now();
  guard.Begin(stores.content_namespaced(), stores.snapshots_namespaced());
  struct EndGuard {
    GcGuard& guard;
    ~EndGuard() { guard.End(); }
  } end_guard{guard};

  // Content is listed twice. Only blobs of the first listing, taken before the roots are read,
  // may be swept: a blob written later may belong to a lease the roots do not show yet. The
  // labels the marking follows come from the second listing, taken after the roots: a client
  // labels its blobs before it creates the image that roots them (then drops its lease), and
  // labels set between the first listing and the roots must be seen, or the image's config
  // and layers would be swept from under it. Content labels live in berth-content, not in
  // this LMDB, so no single snapshot covers both.
  auto listed_before_roots = stores.ListContent();
  if (!listed_before_roots.ok()) {
    return listed_before_roots.status().Annotate(
        "garbage collection: listing content (nothing deleted)");
  }
  auto snapshots = stores.ListSnapshots();
  if (!snapshots.ok()) {
    return snapshots.status().Annotate("garbage collection: listing snapshots (nothing deleted)");
  }
  int64_t now = NowUnixNanos();
  BERTH_ASSIGN_OR_RETURN(GcRoots roots, store.ScanGcRoots(now));
  auto content = stores.ListContent();
  if (!content.ok()) {
    return content.status().Annotate("garbage collection: listing content (nothing deleted)");
  }
  std::set<std::pair<std::string, std::string>> sweepable;  // (namespace, digest)
  for (const auto& blob : *listed_before_roots) sweepable.emplace(blob.ns, blob.digest);

  Marker marker(guard, *content, *snapshots);
  marker.Roots(roots.refs);
  GcReport report;
  report.dry_run = dry_run;
  report.marked = marker.marked();
  report.next_expiry_ns = roots.next_expiry_ns;

  std::vector<size_t> content_order;
  std::set<std::string> content_keys, snapshot_keys;
  for (size_t i = 0; i < content->size(); ++i) {
    if (marker.content_marked(i)) continue;
    if (!sweepable.contains({(*content)[i].ns, (*content)[i].digest})) continue;
    content_order.push_back(i);
    content_keys.insert(guard.ContentKey((*content)[i].ns, (*content)[i].digest));
  }
  auto snapshot_order = SnapshotSweepOrder(guard, marker, *snapshots);
  for (size_t i : snapshot_order) {
    const auto& s = (*snapshots)[i];
    snapshot_keys.insert(guard.SnapshotKey(s.ns, s.snapshotter, s.key));
  }

  if (dry_run) {
    for (size_t i : snapshot_order) report.removed_snapshots.push_back((*snapshots)[i]);
    for (size_t i : content_order) report.removed_content.push_back((*content)[i].digest);
    for (const auto& [ns, id] : roots.expired_leases)
      report.expired_leases.push_back(ns + "/" + id);
  } else if (!guard.Arm(std::move(content_keys), std::move(snapshot_keys))) {
    report.complete = false;
    report.error = "a new reference to a collectible object appeared; collection re-runs";
  } else {
    if (!roots.expired_leases.empty()) {
      BERTH_ASSIGN_OR_RETURN(report.expired_leases,
                             store.DeleteExpiredLeases(roots.expired_leases, now));
    }
    Sweep(stores, guard, *content, *snapshots, snapshot_order, content_order, &report);
  }
  report.duration_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  return report;
}

}  // namespace berth::metadata
